"""The documented config for one's own project trains from outside the repo.

docs/configs.md shows, under "Use the plugin from your own config", a
complete config that composes the plugin's parts through ``custom_imports``
alone. The test takes that block from the page (so the page and the test
cannot diverge), saves it in a temporary folder outside the repository and
trains it for 2 epochs there, in a fresh interpreter whose working directory
is that folder, with no ``PYTHONPATH``: the plugin comes from the installed
package (``pip install -e .`` here) through the block's ``custom_imports``,
and no file under configs/ is read. A child config swaps in what this
machine has (the tiny random CLIP of ``tests/conftest.py``, generated
faces, small batches), as a user would for a quick try.
"""
import json
import os.path as osp
import re
import sys
import textwrap

from tool_runner import ROOT, run_tool

HEADING = '## Use the plugin from your own config'

SCRIPT = textwrap.dedent("""
    import json
    import os
    import sys

    assert 'mpa_fer_plugin' not in sys.modules
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile('child.py')
    # custom_imports of the documented block imported the plugin, from
    # the installed package (never from this folder).
    assert 'mpa_fer_plugin' in sys.modules, 'custom_imports not honoured'
    cfg.work_dir = os.path.abspath('work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    print('METRICS ' + json.dumps({k: float(v) for k, v in metrics.items()
                                   if isinstance(v, (int, float))}))
""")


def documented_config(path: str = osp.join(ROOT, 'docs', 'configs.md')
                      ) -> str:
    """The first ``python`` block after the heading of docs/configs.md."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    assert HEADING in text, f'{path} has no heading {HEADING!r}'
    match = re.search(r'```python\n(.*?)```', text.split(HEADING, 1)[1],
                      re.S)
    assert match, f'no python block under {HEADING!r} in {path}'
    return match.group(1)


def test_the_block_is_a_whole_config():
    block = documented_config()
    for part in ("custom_imports = dict(imports=['mpa_fer_plugin']",
                 "type='MPAFERClassifier'", 'train_dataloader',
                 'param_scheduler', 'default_hooks', '{{$CLIP_B16:',
                 '{{$RAFDB_ROOT:'):
        assert part in block, part
    # Nothing of the checkout: no _base_ and no configs/ path.
    assert '_base_' not in block and 'configs/' not in block


def test_documented_config_trains_outside_the_repository(
        tmp_path, tiny_clip_spec):
    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    folder = tmp_path / 'my_project'
    folder.mkdir()
    assert not str(folder).startswith(ROOT)
    (folder / 'my_fer_config.py').write_text(documented_config())
    data = folder / 'faces'
    generate_synthetic_fer(str(data), num_train=28, num_test=14, size=64,
                           seed=0)
    clip = dict(_delete_=True, **tiny_clip_spec)
    (folder / 'child.py').write_text(textwrap.dedent(f"""
        _base_ = ['./my_fer_config.py']
        img_size = 32  # the tiny CLIP's input size
        model = dict(clip={clip!r},
                     backbone=dict(num_prompts=2),
                     head=dict(num_ctx=4, topk_patches=4))
        train_pipeline = [
            dict(type='LoadFERImage'),
            dict(type='RandomResizedCrop', scale=img_size,
                 crop_ratio_range=(0.8, 1.0), interpolation='bicubic'),
            dict(type='PackInputs')]
        test_pipeline = [
            dict(type='LoadFERImage'),
            dict(type='ResizeEdge', scale=img_size, edge='short',
                 interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=img_size),
            dict(type='PackInputs')]
        train_dataloader = dict(batch_size=8, num_workers=0,
                                dataset=dict(pipeline=train_pipeline))
        val_dataloader = dict(batch_size=8, num_workers=0,
                              dataset=dict(pipeline=test_pipeline))
        test_dataloader = val_dataloader
        max_epochs = 2
        param_scheduler = [
            dict(type='LinearLR', start_factor=1e-3, by_epoch=True,
                 begin=0, end=1, convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
                 T_max=1)]
        train_cfg = dict(max_epochs=max_epochs)
        default_hooks = dict(logger=dict(interval=1))
        env_cfg = dict(dist_cfg=dict(backend='gloo'))
    """))
    (folder / 'run.py').write_text(SCRIPT)
    # Run from the user's folder with the installed package only; the
    # block reads the data root from RAFDB_ROOT.
    env = dict(PYTHONPATH='', RAFDB_ROOT=str(data), OMP_NUM_THREADS='1')
    proc = run_tool([sys.executable, '-P', 'run.py'], cwd=str(folder),
                    env=env)
    work = folder / 'work'
    assert (work / 'epoch_1.pth').is_file()
    assert (work / 'epoch_2.pth').is_file()
    line = next(x for x in proc.stdout.splitlines()
                if x.startswith('METRICS '))
    metrics = json.loads(line[len('METRICS '):])
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert 0 <= metrics['single-label/recall'] <= 100
