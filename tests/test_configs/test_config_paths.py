"""Config paths: committed demo assets resolve from any working directory;
data roots stay relative to it (mmpretrain's convention, README
"Configs")."""
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'mpa_fer_demo.py')


def test_demo_model_builds_from_another_directory(tmp_path, monkeypatch):
    from mmpretrain.apis import get_model
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(DEMO)
    assets = osp.join(ROOT, 'configs', 'demo_assets', 'tiny_clip')
    assert osp.normpath(cfg.model.clip.pretrained) == \
        osp.join(assets, 'tiny_clip.pth')
    assert osp.isfile(cfg.model.clip.pretrained)
    # Data roots are relative to where the tools run (the repo root).
    assert cfg.train_dataloader.dataset.data_root == 'data/synthetic_fer'
    model = get_model(DEMO, device='cpu')
    assert type(model).__name__ == 'MPAFERClassifier'
    # A child config elsewhere inherits the resolved asset paths.
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{DEMO!r}]\n')
    assert Config.fromfile(str(child)).model.clip.pretrained == \
        cfg.model.clip.pretrained
