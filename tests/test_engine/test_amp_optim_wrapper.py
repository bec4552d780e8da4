"""MPAAmpOptimWrapper: bfloat16 autocast training on CPU through the Runner."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.engine import MPAAmpOptimWrapper
from mpa_fer_plugin.models.utils import clear_clip_cache

TRAINABLE = ('backbone.prompts', 'head.prompt_learner.ctx')


@pytest.fixture(autouse=True)
def _fresh_clip():
    yield
    clear_clip_cache()


#: The 32 px test pipeline (RAF-DB-layout faces of conftest's fer32_root).
PIPELINE_32 = [
    dict(type='LoadFERImage'),
    dict(type='ResizeEdge', scale=32, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]


def _runner(model_cfg, root, work_dir, wrapper_type):
    dataset = dict(type='RAFDB', data_root=root, split='train',
                   pipeline=copy.deepcopy(PIPELINE_32))
    loader = dict(batch_size=5, num_workers=0, dataset=dataset,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    cfg = Config(dict(
        default_scope='mmpretrain', model=model_cfg, work_dir=str(work_dir),
        train_dataloader=loader, val_dataloader=copy.deepcopy(loader),
        val_evaluator=dict(type='Accuracy'),
        train_cfg=dict(by_epoch=False, max_iters=3, val_interval=3),
        val_cfg=dict(),
        optim_wrapper=dict(
            type=wrapper_type,
            constructor='MPATrainableOptimWrapperConstructor',
            optimizer=dict(type='SGD', lr=0.5, momentum=0.9)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook',
                                           interval=3, by_epoch=False)),
        randomness=dict(seed=0), env_cfg=dict(dist_cfg=dict(
            backend='gloo'))))
    return Runner.from_cfg(cfg)


def _train(tiny_mpa_cfg, root, work_dir, wrapper_type):
    """Train 3 iterations; return the runner, states and forward dtypes."""
    runner = _runner(tiny_mpa_cfg(), root, work_dir, wrapper_type)
    model = runner.model
    gen = torch.Generator().manual_seed(0)
    protos = torch.nn.functional.normalize(
        torch.randn(model.head.prototypes.shape, generator=gen), dim=-1)
    model.head.set_prototypes(protos)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    dtypes = []

    def record(module, args, out):
        if module.training:
            dtypes.append(out[0].dtype)

    handle = model.backbone.register_forward_hook(record)
    runner.train()
    handle.remove()
    return runner, before, dtypes


def test_bf16_runner_training_on_cpu(tiny_mpa_cfg, fer32_root, tmp_path):
    runner, before, dtypes = _train(tiny_mpa_cfg, fer32_root,
                                    tmp_path / 'bf16', 'MPAAmpOptimWrapper')
    wrapper = runner.optim_wrapper
    assert isinstance(wrapper, MPAAmpOptimWrapper)
    assert wrapper.cast_dtype == torch.bfloat16 and wrapper.loss_scaler is None
    # Autocast was on in every training forward pass.
    assert dtypes == [torch.bfloat16] * 3
    model = runner.model
    after = model.state_dict()
    for name, value in after.items():
        assert value.dtype == before[name].dtype, name
        if value.is_floating_point():
            assert value.dtype == torch.float32, name
        if name in TRAINABLE:
            assert not torch.equal(value, before[name]), name
        else:  # frozen towers, prototypes, hard-prompt features
            assert torch.equal(value, before[name]), name
    assert all(p.grad is None or p.grad.dtype == torch.float32
               for p in model.parameters())
    # The val loop after training filled the text cache outside autocast:
    # float32, equal to an fp32 encoding of the trained prompts.
    head = model.head.eval()
    cached = head.text_features()
    assert cached.dtype == torch.float32
    with torch.no_grad():
        torch.testing.assert_close(cached, head._encode_prompts()[0])
    assert runner.message_hub.get_scalar('val/accuracy/top1') is not None
    # The checkpoint holds the optimizer state and no loss scaler.
    ckpt = torch.load(tmp_path / 'bf16' / 'iter_3.pth', weights_only=False)
    assert 'loss_scaler' not in ckpt['optimizer']
    assert ckpt['state_dict']['backbone.prompts'].dtype == torch.float32


def test_bf16_update_close_to_fp32(tiny_mpa_cfg, fer32_root, tmp_path):
    """bf16 changes the prompt updates by rounding, not in direction."""
    updates = {}
    for wrapper_type in ('OptimWrapper', 'MPAAmpOptimWrapper'):
        runner, before, _ = _train(tiny_mpa_cfg, fer32_root,
                                   tmp_path / wrapper_type, wrapper_type)
        after = runner.model.state_dict()
        updates[wrapper_type] = torch.cat(
            [(after[n] - before[n]).flatten() for n in TRAINABLE])
        clear_clip_cache()
    fp32, bf16 = updates['OptimWrapper'], updates['MPAAmpOptimWrapper']
    assert fp32.norm() > 0
    assert (bf16 - fp32).norm() < 0.1 * fp32.norm()
    assert not torch.equal(bf16, fp32)  # it did run in lower precision


def test_options_and_state(tiny_mpa_cfg):
    init_default_scope('mmpretrain')
    model = MODELS.build(tiny_mpa_cfg())
    optimizer = dict(type='SGD', lr=0.1)
    wrapper = build_optim_wrapper(model, dict(
        type='MPAAmpOptimWrapper', dtype='bfloat16', device='cpu',
        loss_scale=512.0, optimizer=optimizer, clip_grad=dict(max_norm=1.0)))
    assert wrapper.device_type == 'cpu' and wrapper.loss_scaler is None
    x = torch.randn(2, 3, 32, 32)
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(i) for i in (0, 1)]
    model.head.loss_proto = None
    with wrapper.optim_context(model):
        loss = model(x, samples, mode='loss')['loss_cls']
    wrapper.update_params(loss)
    state = wrapper.state_dict()
    assert 'loss_scaler' not in state
    # A GPU checkpoint's loss-scaler state is dropped on CPU.
    wrapper.load_state_dict(dict(copy.deepcopy(state), loss_scaler={}))
    with pytest.raises(ValueError, match='not supported on CPU'):
        MPAAmpOptimWrapper(device='cpu', dtype='float16',
                           optimizer=torch.optim.SGD(model.parameters(), 1))
    with pytest.raises(ValueError, match="dtype='float64'"):
        MPAAmpOptimWrapper(device='cpu', dtype='float64',
                           optimizer=torch.optim.SGD(model.parameters(), 1))


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only check')
def test_accelerator_path_is_mmengines(tiny_mpa_cfg):
    """device='cuda' goes to mmengine's AmpOptimWrapper (GradScaler)."""
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(AssertionError, match='only available training'):
        MPAAmpOptimWrapper(device='cuda',
                           optimizer=torch.optim.SGD(params, lr=1.0))


def test_eval_text_cache_fp32_under_val_autocast(tiny_mpa_cfg):
    """ValLoop(fp16=True) on CPU runs val_step in bf16 autocast; the head's
    eval text cache is still encoded in float32."""
    from mmengine.runner.amp import autocast
    from mmpretrain.structures import DataSample
    init_default_scope('mmpretrain')
    model = MODELS.build(tiny_mpa_cfg()).eval()
    head = model.head
    with torch.no_grad():
        fp32 = head._encode_prompts()[0]
        with autocast(device_type='cpu'):
            in_bf16 = head._encode_prompts()[0]
    # Without the guard the cache would hold this (rounded) encoding.
    assert in_bf16.dtype == torch.bfloat16
    assert not torch.equal(in_bf16.float(), fp32)
    gen = torch.Generator().manual_seed(0)
    data = dict(inputs=torch.randint(0, 256, (2, 3, 32, 32), generator=gen,
                                     dtype=torch.uint8),
                data_samples=[DataSample().set_gt_label(i) for i in (0, 1)])
    with autocast(enabled=True):  # what ValLoop(fp16=True) does
        outs = model.val_step(data)
    assert len(outs) == 2
    key, cached = head._text_cache
    assert cached.dtype == torch.float32
    assert torch.equal(cached, fp32)
    assert head.text_features() is cached  # reused outside autocast
