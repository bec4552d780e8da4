"""Using plugin parts from other configs through ``custom_imports``.

Run in a fresh interpreter, because the point is that the plugin is *not*
imported until a config asks for it.
"""
import sys
import textwrap

from tool_runner import ROOT, run_tool

SCRIPT = textwrap.dedent("""
    import sys
    from mmengine.config import Config
    from mmengine.registry import DATASETS, MODELS, init_default_scope

    assert 'mpa_fer_plugin' not in sys.modules
    d = sys.argv[1]

    # 1. A config of another library (default scope mmengine) uses a plugin
    #    component with _scope_='mmpretrain'.
    cfg = Config.fromfile(f'{d}/foreign.py')
    assert 'mpa_fer_plugin' in sys.modules, 'custom_imports not honoured'
    init_default_scope(cfg.default_scope)
    loss = MODELS.build(cfg.loss)
    assert type(loss).__name__ == 'SoftHardAlignLoss', type(loss)
    assert loss.loss_weight == 0.5
    ds = DATASETS.build(cfg.dataset)
    assert type(ds).__name__ == 'RAFDB' and len(ds) == 28, len(ds)

    # 2. A child of a plugin config that sets its own custom_imports: the
    #    child's list replaces the base's (mmengine semantics), so it must
    #    keep the plugin; the merged config still names it.
    child = Config.fromfile(f'{d}/child.py')
    assert child.custom_imports['imports'] == ['mpa_fer_plugin', 'json']
    assert child.default_scope == 'mmpretrain'
    # 3. A child that does not mention custom_imports inherits it.
    plain = Config.fromfile(f'{d}/plain_child.py')
    assert plain.custom_imports['imports'] == ['mpa_fer_plugin']
    assert plain.model['type'] == 'MPAFERClassifier'
    print('COMPOSITION-OK')
""")


def test_custom_imports_from_foreign_and_child_configs(small_world,
                                                       tmp_path):
    demo = f'{ROOT}/configs/mpa_fer_demo.py'
    (tmp_path / 'foreign.py').write_text(textwrap.dedent(f"""
        default_scope = 'mmengine'
        custom_imports = dict(imports=['mpa_fer_plugin'],
                              allow_failed_imports=False)
        loss = dict(type='SoftHardAlignLoss', _scope_='mmpretrain',
                    loss_weight=0.5)
        dataset = dict(type='RAFDB', _scope_='mmpretrain',
                       data_root={small_world['data_root']!r},
                       split='train', pipeline=[])
    """))
    (tmp_path / 'child.py').write_text(textwrap.dedent(f"""
        _base_ = [{demo!r}]
        custom_imports = dict(imports=['mpa_fer_plugin', 'json'])
    """))
    (tmp_path / 'plain_child.py').write_text(textwrap.dedent(f"""
        _base_ = [{demo!r}]
        train_cfg = dict(max_epochs=1)
    """))
    proc = run_tool([sys.executable, '-c', SCRIPT, str(tmp_path)])
    assert 'COMPOSITION-OK' in proc.stdout
