"""tools/analysis_tools/plot_curves.py on mmengine's scalars.json logs."""
import json
import os.path as osp
import sys

import cv2
import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import load_tool  # noqa: E402

curves_tool = load_tool('analysis_tools/plot_curves.py')


def _write_run(work_dir, stamp, train, val):
    """One run in mmengine's LocalVisBackend layout."""
    folder = work_dir / stamp / 'vis_data'
    folder.mkdir(parents=True)
    with open(folder / 'scalars.json', 'w') as f:
        for step, loss in train:
            f.write(json.dumps({'lr': 0.01, 'loss': loss, 'loss_cls': loss,
                                'time': 0.1, 'epoch': 1 + step // 4,
                                'iter': step, 'step': step}) + '\n')
        for epoch, acc in val:
            f.write(json.dumps({'accuracy/top1': acc, 'data_time': 0.01,
                                'time': 0.02, 'step': epoch}) + '\n')


@pytest.fixture
def work_dir(tmp_path):
    # A first run, and a resumed one that redoes iteration 8.
    _write_run(tmp_path, '20260101_000000', [(4, 2.0), (8, 1.9)],
               [(1, 20.0), (2, 30.0)])
    _write_run(tmp_path, '20260101_010000', [(8, 1.7), (12, 1.5)],
               [(3, 45.0)])
    return tmp_path


def test_plot(work_dir, tmp_path):
    out = tmp_path / 'curves.png'
    panels = curves_tool.main([str(work_dir), '--keys', 'loss',
                               'accuracy/top1', '--out', str(out)])
    assert panels == [('train', 'loss'), ('val', 'accuracy/top1')]
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > image.shape[1] * 0.5

    curves, by_epoch = curves_tool.load_curves(
        curves_tool.find_scalar_logs(str(work_dir)))
    assert by_epoch
    assert curves['train']['loss'] == {4: 2.0, 8: 1.7, 12: 1.5}
    assert curves['val']['accuracy/top1'] == {1: 20.0, 2: 30.0, 3: 45.0}


def test_errors(work_dir, tmp_path):
    with pytest.raises(ValueError, match=r"'accuracy/top5'.*available: "
                       r"\[.*'accuracy/top1'.*'loss'"):
        curves_tool.main([str(work_dir), '--keys', 'accuracy/top5', '--out',
                          str(tmp_path / 'x.png')])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no .*scalars.json under'):
        curves_tool.main([str(empty), '--out', str(tmp_path / 'x.png')])
    with pytest.raises(FileNotFoundError, match='work dir not found'):
        curves_tool.main([str(tmp_path / 'nope'), '--out', 'x.png'])
