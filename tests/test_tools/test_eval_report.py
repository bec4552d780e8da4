"""tools/eval_report.py on three checkpoints: the numbers of tools/test.py.

The checkpoints are the inference world's model (tiny random CLIP of
``tests/conftest.py``) with prompts moved by three seeds, standing in for
three training seeds; one carries a calibration temperature.
"""
import json
import os.path as osp
import sys

import pytest
import torch
from tool_loader import load_tool

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import _save_checkpoint, get_world  # noqa: E402

report_tool = load_tool('eval_report.py')
test_tool = load_tool('test.py')


@pytest.fixture(scope='module')
def three_runs(tmp_path_factory, tiny_clip_spec):
    from mpa_fer_plugin.apis import init_mpa_model
    from mpa_fer_plugin.evaluation.calibration import store_calibration
    world = get_world(tmp_path_factory, tiny_clip_spec)
    root = tmp_path_factory.mktemp('report_runs')
    ckpts = []
    for seed in range(3):
        torch.manual_seed(seed)
        model = init_mpa_model(world['config'])
        with torch.no_grad():
            model.backbone.prompts.add_(torch.randn_like(
                model.backbone.prompts))
            model.head.prompt_learner.ctx.add_(torch.randn_like(
                model.head.prompt_learner.ctx))
        ckpts.append(_save_checkpoint(model, root / f'seed{seed}.pth'))
    store_calibration(ckpts[2], dict(temperature=2.0, fitted_on='test'))
    # the world's config has a training loader but no schedule: test only
    config = root / 'test_only.py'
    config.write_text(f'_base_ = [{world["config"]!r}]\n'
                      'train_dataloader = None\n')
    # a RAN-style list: RAF-DB codes minus 1 (folder numbers)
    with open(osp.join(world['data_root'], 'EmoLabel',
                       'list_patition_label.txt')) as f:
        test = [line.split() for line in f if line.startswith('test_')]
    subset = root / 'occlusion.txt'
    subset.write_text(''.join(f'{name} {int(code) - 1}\n'
                              for name, code in test[:3]))
    return dict(world=world, ckpts=ckpts, subset=str(subset), root=root,
                config=str(config))


def test_report_equals_test_tool(three_runs):
    config, ckpts, root = (three_runs['config'], three_runs['ckpts'],
                           three_runs['root'])
    out = root / 'report'
    report = report_tool.main([
        config, '--checkpoints', *ckpts,
        '--run-names', 's0', 's1', 's2',
        '--subset', f'occlusion={three_runs["subset"]}',
        '--selection', 'last epoch', '--model', 'tiny MPA-FER',
        '--out-dir', str(out)])
    runs = report['groups']['all']['runs']
    pkl = str(root / 'seed0.pkl')
    for k, ckpt in enumerate(ckpts):
        argv = [config, ckpt, '--work-dir', str(root / f'wd{k}')]
        if k == 0:
            argv += ['--out', pkl]
        metrics = test_tool.main(argv)
        m = runs[k]
        assert m['war'] == pytest.approx(metrics['accuracy/top1'], abs=1e-4)
        assert m['uar'] == pytest.approx(metrics['single-label/recall'],
                                         abs=1e-4)
        assert m['macro_f1'] == pytest.approx(
            metrics['single-label/f1-score'], abs=1e-4)
        assert m['per_class']['recall'] == pytest.approx(
            [float(v) for v in metrics['per_class/recall_classwise']],
            abs=1e-4)
        assert m['confusion'] == metrics['confusion_matrix/result'].tolist()
    summary = report['groups']['all']['summary']
    assert summary['war']['values'] == pytest.approx([r['war']
                                                      for r in runs])
    assert 'ece_calibrated' not in summary  # only one run is calibrated
    assert runs[2]['temperature'] == 2.0 and runs[2]['ece_calibrated']
    occl = report['groups']['occlusion']
    assert occl['runs'][0]['num_images'] == 3
    for name in ('report.md', 'report.json', 'confusion_all.png',
                 'reliability_all.png', 'confusion_occlusion.png',
                 'reliability_occlusion.png'):
        assert (out / name).is_file(), name
    text = (out / 'report.md').read_text()
    for needle in ('tiny MPA-FER', 'last epoch', 'Subset occlusion (3 '
                   'images)', '| s2 |', 'split: test'):
        assert needle in text, needle
    saved = json.loads((out / 'report.json').read_text())
    assert saved['meta']['checkpoints'] == ckpts

    # the dumped predictions of tools/test.py give the same report
    from_pkl = report_tool.main([
        config, '--results', pkl, '--out-dir',
        str(root / 'report_pkl')])
    again = from_pkl['groups']['all']['runs'][0]
    for key in ('war', 'uar', 'macro_f1', 'ece'):
        assert again[key] == pytest.approx(runs[0][key], abs=1e-4)


def test_runs_started_in_the_same_second(three_runs, monkeypatch):
    """Two checkpoints read within one second (mmengine names its logger
    and visualizer after the second) each get their own Runner folder."""
    import time
    import types

    import mmengine.runner.runner as runner_mod

    from mpa_fer_plugin.evaluation.predictions import collect_predictions
    frozen = types.SimpleNamespace(time=lambda: 1765000000.0,
                                   strftime=time.strftime,
                                   localtime=time.localtime)
    monkeypatch.setattr(runner_mod, 'time', frozen)
    first, second = (collect_predictions(three_runs['config'], ckpt)
                     for ckpt in three_runs['ckpts'][:2])
    assert first['scores'].shape == second['scores'].shape
    assert not torch.equal(torch.as_tensor(first['scores']),
                           torch.as_tensor(second['scores']))
