"""MPAModelCardHook: the card is in every checkpoint the Runner saves."""
import torch
from mmengine.config import Config
from mmengine.runner import Runner


def test_training_writes_the_card(small_world, tmp_path):
    cfg = Config.fromfile(small_world['config'])
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        save_best='auto')
    assert cfg.default_hooks.model_card.type == 'MPAModelCardHook'
    Runner.from_cfg(cfg).train()
    best = [p for p in tmp_path.iterdir() if p.name.startswith('best_')]
    for path in [tmp_path / 'epoch_1.pth'] + best:
        ckpt = torch.load(path, weights_only=False, map_location='cpu')
        card = ckpt['meta']['model_card']
        assert card['kind'] == 'prompt-tuned'
        assert card['domain'] == 'synthetic-drawn-faces'
        assert card['training']['data_root'] == small_world['data_root']
        assert card['classes'] == list(ckpt['meta']['dataset_meta'][
            'classes'])
        assert card['input_size'] == 64 and card['epoch'] == 1
        assert card['config'] == 'small_demo.py'
    # the best checkpoint is saved after validation: its metrics are there
    card = torch.load(best[0], weights_only=False)['meta']['model_card']
    assert card['metrics']['split'] == 'test'
    assert card['metrics']['epoch'] == 1
    assert 0 <= card['metrics']['values']['accuracy/top1'] <= 100


def test_added_to_configs_without_it(small_world, tmp_path):
    from mpa_fer_plugin.engine.hooks import MPAModelCardHook
    for value, expected in (('drop', 1), (None, 0)):
        cfg = Config.fromfile(small_world['config'])
        cfg.work_dir = str(tmp_path / str(value))
        if value == 'drop':
            cfg.default_hooks.pop('model_card')
        else:
            cfg.default_hooks.model_card = None
        runner = Runner.from_cfg(cfg)
        found = [h for h in runner.hooks if isinstance(h, MPAModelCardHook)]
        assert len(found) == expected, value
