"""Tests of MPAPromptedViT, the frozen CLIP image tower with deep prompts."""
import copy

import open_clip
import pytest
import torch
from mmpretrain.registry import MODELS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.models.utils import clear_clip_cache, load_clip


@pytest.fixture(autouse=True)
def _fresh_clip():
    yield
    clear_clip_cache()


def build(spec, **kwargs):
    return MODELS.build(dict(type='MPAPromptedViT', clip=spec, **kwargs))


@pytest.fixture(scope='module')
def images():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(3, 3, 32, 32, generator=gen)


def test_shapes_and_extra_tokens(tiny_clip_spec, images):
    vit = build(tiny_clip_spec, num_prompts=4)
    g, p = vit(images)
    assert g.shape == (3, 32) and p.shape == (3, 16, 32)
    assert vit.num_extra_tokens == 5
    assert vit.prompts.shape == (2, 4, 64)  # every layer, width from weights
    assert vit.num_patches == 16
    vit.out_patches = False
    assert len(vit(images)) == 1


def test_no_prompts_equals_encode_image(tiny_clip_spec, images):
    clip = load_clip(tiny_clip_spec)
    vit = build(tiny_clip_spec, num_prompts=0)
    assert vit.prompts is None and vit.num_extra_tokens == 1
    with torch.no_grad():
        ref = clip.encode_image(images)
        ours = vit(images)[0]
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-6)


def test_prompts_change_features_and_frozen_path(tiny_clip_spec, images):
    clip = load_clip(tiny_clip_spec)
    vit = build(tiny_clip_spec, num_prompts=4)
    with torch.no_grad():
        ref = clip.encode_image(images)
        frozen = vit.forward_frozen(images)
        off = vit(images, use_prompts=False)
        on = vit(images)
    torch.testing.assert_close(frozen[0], ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(off[0], ref, rtol=0, atol=1e-6)
    assert frozen[1].shape == on[1].shape == (3, 16, 32)
    assert not torch.allclose(on[0], ref, atol=1e-4)


def test_patches_match_open_clip_tokens(tiny_clip_spec, images):
    """ln_post + proj of the patches equals open_clip's tokens @ proj."""
    clip = load_clip(tiny_clip_spec, use_cache=False)
    vit = build(tiny_clip_spec, num_prompts=0)
    clip.visual.output_tokens = True
    with torch.no_grad():
        _, tokens = clip.visual(images)
        _, patches = vit(images)
    torch.testing.assert_close(patches, tokens @ clip.visual.proj,
                               rtol=0, atol=1e-6)
    vit_proj = build(tiny_clip_spec, num_prompts=0, patch_proj='proj')
    with torch.no_grad():
        _, raw = vit_proj(images)
    assert not torch.allclose(raw, patches, atol=1e-4)


def test_prompt_depth(tiny_clip_spec, images):
    torch.manual_seed(0)
    vit = build(tiny_clip_spec, num_prompts=3, prompt_depth=1)
    assert vit.prompts.shape == (1, 3, 64)
    g, _ = vit(images)
    g.sum().backward()
    assert vit.prompts.grad is not None and vit.prompts.grad.abs().sum() > 0


def test_frozen_and_train_mode(tiny_clip_spec, images):
    vit = build(tiny_clip_spec, num_prompts=2)
    vit.train()
    assert vit.training and not vit.visual.training
    assert not any(m.training for m in vit.visual.modules())
    assert [n for n, p in vit.named_parameters() if p.requires_grad] == [
        'prompts'
    ]
    assert list(vit.state_dict()) == ['prompts']
    g, p = vit(images)
    (g.sum() + p.sum()).backward()
    assert all(p.grad is None for n, p in vit.named_parameters()
               if n != 'prompts')


def test_with_cp_same_result(tiny_clip_spec, images):
    torch.manual_seed(0)
    a = build(tiny_clip_spec, num_prompts=2)
    b = build(tiny_clip_spec, num_prompts=2, with_cp=True)
    b.load_state_dict(a.state_dict())
    ga, _ = a(images)
    gb, _ = b(images)
    ga.sum().backward()
    gb.sum().backward()
    torch.testing.assert_close(ga, gb)
    torch.testing.assert_close(a.prompts.grad, b.prompts.grad)


def _saved_bytes(fn):
    """Bytes of the distinct non-parameter tensors autograd saves in fn."""
    seen, total = set(), [0]

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if not isinstance(t, torch.nn.Parameter) and ptr not in seen:
            seen.add(ptr)
            total[0] += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, total[0]


@pytest.mark.parametrize('with_cp', [True, 1])
def test_with_cp_identical_model_gradients(tiny_mpa_cfg, with_cp):
    """Checkpointing (all blocks or the first) keeps every gradient."""
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, 32, 32, generator=gen)
    samples = [DataSample().set_gt_label(i) for i in (0, 3, 4, 6)]
    grads, saved = [], []
    for cp in (False, with_cp):
        torch.manual_seed(0)
        model = MODELS.build(tiny_mpa_cfg(
            backbone=dict(with_cp=cp), head=dict(loss_proto=None)))
        model.train()
        losses, nbytes = _saved_bytes(
            lambda: model(x, samples, mode='loss'))
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.requires_grad})
        saved.append(nbytes)
        clear_clip_cache()
    assert set(grads[0]) == set(grads[1]) and len(grads[0]) >= 2
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, msg=name)
    # What makes it save memory: fewer activations kept for backward.
    assert saved[1] < saved[0]


def test_with_cp_layer_count_and_checks(tiny_clip_spec, images):
    assert build(tiny_clip_spec, with_cp=True).cp_layers == 2
    assert build(tiny_clip_spec, with_cp=1).cp_layers == 1
    assert build(tiny_clip_spec).cp_layers == 0
    with pytest.raises(ValueError, match=r'with_cp=3 .*\[0, 2\]'):
        build(tiny_clip_spec, with_cp=3)
    with pytest.raises(ValueError, match="with_cp='all'"):
        build(tiny_clip_spec, with_cp='all')
    # No gradients wanted: nothing is checkpointed, same features.
    vit = build(tiny_clip_spec, num_prompts=2, with_cp=True)
    with torch.no_grad():
        a = vit(images)[0]
    vit.cp_layers = 0
    with torch.no_grad():
        torch.testing.assert_close(vit(images)[0], a)


def test_wrong_input_size(tiny_clip_spec):
    vit = build(tiny_clip_spec, num_prompts=0)
    with pytest.raises(ValueError, match='built for 16'):
        vit(torch.randn(1, 3, 64, 64))


@pytest.mark.parametrize('kwargs, err, match', [
    (dict(num_prompts=-1), ValueError, 'num_prompts=-1'),
    (dict(num_prompts=2.5), ValueError, 'num_prompts=2.5'),
    (dict(prompt_depth=3), ValueError, r'prompt_depth=3 .*\[1, 2\]'),
    (dict(prompt_depth=0), ValueError, 'prompt_depth=0'),
    (dict(prompt_init_std=0), ValueError, 'prompt_init_std=0'),
    (dict(patch_proj='none'), ValueError, "patch_proj='none'"),
    (dict(out_patches='yes'), TypeError, "out_patches='yes'"),
    (dict(init_cfg=dict(type='Normal', std=0.02)), ValueError,
     "init_cfg type 'Normal' would re-initialise the frozen CLIP"),
])
def test_bad_arguments(tiny_clip_spec, kwargs, err, match):
    with pytest.raises(err, match=match):
        build(tiny_clip_spec, **kwargs)


def test_clip_must_be_dict():
    with pytest.raises(TypeError, match='clip must be a dict'):
        MODELS.build(dict(type='MPAPromptedViT', clip='ViT-B-16'))


def test_unsupported_towers(tiny_clip_spec):
    spec = copy.deepcopy(tiny_clip_spec)
    spec['pretrained'] = None
    spec['model_cfg']['vision_cfg']['attentional_pool'] = True
    spec['model_cfg']['vision_cfg']['attn_pooler_heads'] = 2
    with pytest.raises(NotImplementedError, match='attentional pool'):
        build(spec)
    resnet = dict(model_cfg={
        'embed_dim': 32,
        'vision_cfg': {'image_size': 32, 'layers': [1, 1, 1, 1],
                       'width': 8, 'head_width': 8},
        'text_cfg': copy.deepcopy(tiny_clip_spec['model_cfg']['text_cfg'])
    })
    with pytest.raises(NotImplementedError, match='ModifiedResNet'):
        build(resnet)


def test_real_vit_b16_zero_shot_equality(tmp_path):
    """Prompts off at the real ViT-B/16 architecture (random weights)."""
    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    torch.manual_seed(0)
    ref = open_clip.create_model('ViT-B-16-quickgelu', pretrained=None)
    ref.eval()
    from safetensors.torch import save_file
    path = tmp_path / 'vit_b16.safetensors'  # faster to write and read
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()},
              str(path))
    spec = dict(model_name='ViT-B-16', pretrained=str(path), quick_gelu=True)
    model = MODELS.build(
        dict(type='MPAFERClassifier', clip=spec,
             backbone=dict(type='MPAPromptedViT', num_prompts=0),
             head=dict(type='MPAPromptHead', classnames=FER7_CLASSES,
                       num_ctx=0, prompt_template='a photo of a {}.',
                       local_weight=0.0, loss_align=None, loss_proto=None)))
    model.eval()
    image = torch.randn(1, 3, 224, 224)
    tokenizer = open_clip.get_tokenizer('ViT-B-16')
    text = tokenizer([f'a photo of a {c}.' for c in FER7_CLASSES])
    with torch.no_grad():
        expected = 100 * ref.encode_image(image, normalize=True) @ \
            ref.encode_text(text, normalize=True).t()
        ours = model(image)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-3)
    assert model.backbone.num_patches == 196


@pytest.mark.parametrize('prompt_ln_pre', [True, False])
def test_first_prompts_before_or_after_ln_pre(tiny_clip_spec, images,
                                              prompt_ln_pre):
    """True: P^1 concatenated before ln_pre (IVLP/MaPLe); False: after."""
    torch.manual_seed(0)
    vit = build(tiny_clip_spec, num_prompts=3, prompt_depth=1,
                prompt_ln_pre=prompt_ln_pre)
    assert vit.prompt_ln_pre is prompt_ln_pre
    visual = load_clip(tiny_clip_spec).visual
    with torch.no_grad():  # an independent re-implementation
        x = visual.conv1(images).flatten(2).transpose(1, 2)
        cls = visual.class_embedding.view(1, 1, -1).expand(3, -1, -1)
        x = torch.cat([cls, x], dim=1) + visual.positional_embedding
        prompts = vit.prompts[0].expand(3, -1, -1)
        if prompt_ln_pre:
            x = visual.ln_pre(torch.cat([x[:, :1], prompts, x[:, 1:]], 1))
        else:
            x = visual.ln_pre(x)
            x = torch.cat([x[:, :1], prompts, x[:, 1:]], 1)
        x = visual.transformer(x)
        ref = visual.ln_post(x[:, 0]) @ visual.proj
        ours = vit(images)[0]
        other = build(tiny_clip_spec, num_prompts=3, prompt_depth=1,
                      prompt_ln_pre=not prompt_ln_pre)
        other.prompts.data.copy_(vit.prompts.data)
        theirs = other(images)[0]
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
    assert not torch.allclose(ours, theirs, atol=1e-4)
    # the default is IVLP's
    assert build(tiny_clip_spec, num_prompts=1).prompt_ln_pre is True
    with pytest.raises(TypeError, match="prompt_ln_pre='yes'"):
        build(tiny_clip_spec, prompt_ln_pre='yes')


@pytest.mark.parametrize('with_cp', [False, True])
def test_seq_first_same_features_and_gradients(tiny_clip_spec, images,
                                               with_cp):
    """The sequence-first layout changes no result (also under
    checkpointing, whose backward re-runs the blocks) and leaves open_clip's
    attention batch-first afterwards."""
    torch.manual_seed(0)
    a = build(tiny_clip_spec, num_prompts=2, seq_first=False)
    b = build(tiny_clip_spec, num_prompts=2, seq_first=True,
              with_cp=with_cp)
    b.load_state_dict(a.state_dict())
    outs, seen = [], []
    for vit in (a, b):
        attn0 = vit.visual.transformer.resblocks[0].attn
        hook = attn0.register_forward_pre_hook(
            lambda m, args: seen.append((vit.seq_first, m.batch_first)))
        g, p = vit(images)
        (g.square().sum() + p.mean()).backward()
        hook.remove()
        outs.append((g.detach(), p.detach(), vit.prompts.grad.clone()))
        attn = vit.visual.transformer.resblocks[0].attn
        assert vit.visual.transformer.batch_first and attn.batch_first
    for x, y in zip(*outs):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)
    # the attention really ran sequence-first (and the backward's
    # recomputation too, under checkpointing) only with seq_first
    assert (False, True) in seen and (True, False) in seen
    assert (True, True) not in seen
    if with_cp:
        assert seen.count((True, False)) == 2
    # no gradients wanted: open_clip's layout (PyTorch's fused path)
    seen.clear()
    attn0 = b.visual.transformer.resblocks[0].attn
    hook = attn0.register_forward_pre_hook(
        lambda m, args: seen.append(m.batch_first))
    with torch.no_grad():
        b(images)
    hook.remove()
    assert seen == [True]
    # and without prompts it is still open_clip's own image encoding
    with torch.no_grad():
        frozen = b.forward_frozen(images)[0]
        ref = build(tiny_clip_spec, num_prompts=2,
                    seq_first=False).forward_frozen(images)[0]
    torch.testing.assert_close(frozen, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match='seq_first'):
        build(tiny_clip_spec, seq_first='yes')
