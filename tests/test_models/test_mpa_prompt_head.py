"""Tests of MPAPromptHead: text prompts, hard prompts, CGLA, caching."""
import json

import open_clip
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.models.heads import cgla_scores
from mpa_fer_plugin.models.utils import clear_clip_cache, load_clip

TOKENIZER = open_clip.SimpleTokenizer()


@pytest.fixture(autouse=True)
def _fresh_clip():
    yield
    clear_clip_cache()


def build_head(spec, descriptions=None, **kwargs):
    cfg = dict(type='MPAPromptHead', clip=spec, classnames=FER7_CLASSES,
               descriptions=descriptions, topk_patches=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def encode(clip, texts):
    with torch.no_grad():
        return clip.encode_text(TOKENIZER(texts))


def samples(labels):
    return [DataSample().set_gt_label(int(i)) for i in labels]


def test_fixed_prompts_equal_encode_text(tiny_clip_spec):
    """num_ctx=0: the (EOT-truncated) text tower equals encode_text."""
    head = build_head(tiny_clip_spec, num_ctx=0,
                      prompt_template='a photo of a {}.', loss_align=None,
                      loss_proto=None)
    head.eval()
    expected = encode(load_clip(tiny_clip_spec),
                      [f'a photo of a {c}.' for c in FER7_CLASSES])
    torch.testing.assert_close(head.text_features(), expected, rtol=0,
                               atol=1e-5)
    # the prompts are cut after the longest EOT position
    assert head.prompt_learner.token_embeds.shape[1] < 77


def test_ctx_init_splices_context(tiny_clip_spec):
    head = build_head(tiny_clip_spec, num_ctx=4, ctx_init='a photo of a',
                      loss_align=None, loss_proto=None)
    head.eval()
    assert head.prompt_learner.ctx.shape == (4, 64)
    expected = encode(load_clip(tiny_clip_spec),
                      [f'a photo of a {c}.' for c in FER7_CLASSES])
    torch.testing.assert_close(head.text_features(), expected, rtol=0,
                               atol=1e-5)
    # a changed context changes every class's features
    with torch.no_grad():
        head.prompt_learner.ctx.add_(torch.randn(4, 64))
    assert not torch.allclose(head.text_features(), expected, atol=1e-3)


def test_class_specific_ctx(tiny_clip_spec):
    head = build_head(tiny_clip_spec, class_specific_ctx=True,
                      loss_align=None, loss_proto=None)
    assert head.prompt_learner.ctx.shape == (7, 10, 64)


@pytest.mark.parametrize('end_period', [False, True])
def test_hard_prompt_features(tiny_clip_spec, tiny_descriptions, end_period):
    """Granularity 3: mean of normalised encoded descriptions per class."""
    head = build_head(
        tiny_clip_spec, tiny_descriptions, loss_proto=None,
        hard_prompt_end_period=end_period,
        loss_align=dict(type='SoftHardAlignLoss', token_pooling='mean'))
    clip = load_clip(tiny_clip_spec)
    with open(tiny_descriptions) as f:
        descs = json.load(f)['descriptions']['Happiness']
    end = '.' if end_period else ''
    texts = [f'a photo of a person making a facial expression of happiness, '
             f'{d}{end}' for d in descs]
    assert head.hard_prompts.prompt_texts[4] == texts
    feats = F.normalize(encode(clip, texts), dim=-1)
    expected = F.normalize(feats.mean(0), dim=-1)
    torch.testing.assert_close(head.hard_prompts.text_feats[4], expected,
                               rtol=0, atol=1e-5)
    # token level ('mean' pooling): mean token embedding of the words
    ids = TOKENIZER(texts)
    per_prompt = []
    for row in ids:
        eot = int((row == TOKENIZER.eot_token_id).nonzero()[0])
        with torch.no_grad():
            per_prompt.append(clip.token_embedding(row[1:eot]).mean(0))
    torch.testing.assert_close(head.hard_prompts.token_feats[4],
                               torch.stack(per_prompt).mean(0), rtol=0,
                               atol=1e-6)
    # hard prompts are never saved
    assert not any('hard' in k for k in head.state_dict())


def test_concatenated_descriptions(tiny_clip_spec, tiny_descriptions):
    head = build_head(tiny_clip_spec, tiny_descriptions, loss_proto=None,
                      description_aggregation='concat')
    assert head.hard_prompts.prompt_texts[4] == [
        'a photo of a person making a facial expression of happiness, '
        'raised cheeks and a smiling mouth, crow feet wrinkles around the '
        'eyes'
    ]
    expected = F.normalize(
        encode(load_clip(tiny_clip_spec),
               head.hard_prompts.prompt_texts[4]), dim=-1)[0]
    torch.testing.assert_close(head.hard_prompts.text_feats[4], expected,
                               rtol=0, atol=1e-5)


def test_granularity_1_needs_no_descriptions(tiny_clip_spec):
    head = build_head(tiny_clip_spec, descriptions='/nonexistent.json',
                      granularity=1, loss_proto=None)
    assert head.hard_prompts.prompt_texts[0] == ['a photo of anger.']


def test_too_long_hard_prompt(tiny_clip_spec, tiny_descriptions, tmp_path):
    with open(tiny_descriptions) as f:
        data = json.load(f)
    data['descriptions']['Fear'] = ['wide open eyes ' * 30]
    path = str(tmp_path / 'long.json')
    with open(path, 'w') as f:
        json.dump(data, f)
    with pytest.raises(ValueError,
                       match=r"class 'Fear' has 1\d\d tokens.*77"):
        build_head(tiny_clip_spec, path, loss_proto=None)
    with pytest.warns(UserWarning, match="class 'Fear' has .* truncated"):
        head = build_head(tiny_clip_spec, path, loss_proto=None,
                          truncate_hard_prompts=True)
    assert torch.isfinite(head.hard_prompts.text_feats).all()


def test_cgla_per_class_topk():
    """Each class picks its own top-k patches (Eqs. 8-10)."""
    d = 4
    text = torch.eye(d)[:2]  # class 0 -> axis 0, class 1 -> axis 1
    patches = torch.tensor([[1.0, 0.0, 0, 0], [1.0, 0.1, 0, 0],
                            [0.0, 1.0, 0, 0], [0.1, 1.0, 0, 0],
                            [0.5, 0.5, 1, 0]]).unsqueeze(0)
    glob = torch.tensor([[1.0, 2.0, 0.5, 0]])
    scores = cgla_scores(glob, text, patches, topk=2, local_weight=0.5)

    pn = F.normalize(patches[0], dim=-1)
    expected = []
    for c in range(2):
        sims = sorted((pn @ text[c]).tolist(), reverse=True)
        s_g = F.cosine_similarity(glob[0], text[c], dim=0)
        expected.append(s_g + 0.5 * sum(sims[:2]) / 2)
    torch.testing.assert_close(scores[0], torch.stack(expected))
    # class-agnostic top-k (by the mean similarity over classes) differs
    sim = pn @ text.t()
    shared = sim.mean(1).topk(2).indices
    agnostic = F.normalize(glob, dim=-1) @ text.t() + \
        0.5 * sim[shared].mean(0)
    assert not torch.allclose(scores, agnostic, atol=1e-3)
    # local_weight 0: global cosine only
    torch.testing.assert_close(
        cgla_scores(glob, text, None, local_weight=0),
        F.normalize(glob, dim=-1) @ text.t())
    with pytest.raises(ValueError, match='topk_patches=6 exceeds .* N=5'):
        cgla_scores(glob, text, patches, topk=6)
    with pytest.raises(ValueError, match='needs patch features'):
        cgla_scores(glob, text, None, topk=2)


def test_topk_larger_than_patches_at_build(tiny_clip_spec):
    with pytest.raises(ValueError, match='topk_patches=17 exceeds .* N=16'):
        build_head(tiny_clip_spec, topk_patches=17, loss_align=None)
    # fine without the local branch
    build_head(tiny_clip_spec, topk_patches=17, local_weight=0,
               loss_align=None)


def test_logits_and_loss_cls(tiny_clip_spec):
    head = build_head(tiny_clip_spec, loss_align=None, loss_proto=None,
                      local_weight=0.5, logit_scale=20.0)
    head.train()
    g, p = torch.randn(3, 32), torch.randn(3, 16, 32)
    labels = torch.tensor([0, 4, 6])
    losses = head.loss((g, p), samples(labels))
    assert set(losses) == {'loss_cls'}
    text = head._encode_prompts()[0]
    logits = 20.0 * cgla_scores(g, text, p, 4, 0.5)
    torch.testing.assert_close(head((g, p)), logits)
    torch.testing.assert_close(losses['loss_cls'],
                               F.cross_entropy(logits, labels))


def test_logit_scale_clip(tiny_clip_spec):
    head = build_head(tiny_clip_spec, logit_scale='clip', loss_align=None)
    clip = load_clip(tiny_clip_spec)
    assert head.logit_scale == pytest.approx(clip.logit_scale.exp().item())


def test_eval_cache(tiny_clip_spec):
    head = build_head(tiny_clip_spec, loss_align=None, loss_proto=None)
    head.eval()
    first = head.text_features()
    assert head.text_features() is first  # cached
    assert not first.requires_grad
    with torch.no_grad():
        # e.g. an optimizer step (not a constant shift or scale: the
        # LayerNorm of the text tower removes those)
        head.prompt_learner.ctx.add_(torch.randn(10, 64))
    second = head.text_features()
    assert second is not first and not torch.allclose(second, first)
    state = {k: v.clone() for k, v in head.state_dict().items()}
    state['prompt_learner.ctx'] += torch.randn(10, 64)
    head.load_state_dict(state)
    third = head.text_features()
    assert not torch.allclose(third, second)
    head.train()
    assert head.text_features().requires_grad


def test_prototypes(tiny_clip_spec, tmp_path):
    head = build_head(tiny_clip_spec, loss_align=None)
    head.train()
    feats = (torch.randn(2, 32), torch.randn(2, 16, 32))
    with pytest.raises(RuntimeError, match='no class prototypes'):
        head.loss(feats, samples([0, 1]))
    with pytest.raises(ValueError, match=r'\(3, 32\) do not match'):
        head.set_prototypes(torch.randn(3, 32))
    protos = torch.randn(7, 32)
    head.set_prototypes(protos)
    assert head.has_prototypes
    assert set(head.loss(feats, samples([0, 1]))) == {'loss_cls',
                                                      'loss_proto'}
    assert torch.equal(head.state_dict()['prototypes'], protos)
    torch.save({'prototypes': protos}, tmp_path / 'p.pt')
    torch.save(protos, tmp_path / 'q.pt')
    for name in ('p.pt', 'q.pt'):
        loaded = build_head(tiny_clip_spec, loss_align=None,
                            prototypes=str(tmp_path / name))
        assert loaded.has_prototypes
        assert torch.equal(loaded.prototypes, protos)
    torch.save({'other': protos}, tmp_path / 'bad.pt')
    with pytest.raises(ValueError, match='without a "prototypes" key'):
        build_head(tiny_clip_spec, loss_align=None,
                   prototypes=str(tmp_path / 'bad.pt'))


def test_no_active_loss(tiny_clip_spec):
    head = build_head(tiny_clip_spec, loss_cls=None, loss_align=None,
                      loss_proto=None)
    with pytest.raises(RuntimeError, match='no active loss'):
        head.loss((torch.randn(1, 32), torch.randn(1, 16, 32)), samples([0]))


@pytest.mark.parametrize('kwargs, err, match', [
    (dict(classnames='Anger'), TypeError, "classnames='Anger'"),
    (dict(classnames=('Anger', 'anger')), ValueError, 'duplicates'),
    (dict(classnames=('Anger', '')), ValueError, 'non-empty'),
    (dict(topk_patches=0), ValueError, 'topk_patches=0'),
    (dict(topk_patches='half'), ValueError, "topk_patches='half'"),
    (dict(patch_selection='best'), ValueError, "patch_selection='best'"),
    (dict(local_weight=-1), ValueError, 'local_weight=-1'),
    (dict(logit_scale='auto'), ValueError, "logit_scale='auto'"),
    (dict(logit_scale=0), ValueError, 'logit_scale=0'),
    (dict(granularity=4), ValueError, 'granularity=4'),
    (dict(description_aggregation='max'), ValueError,
     "description_aggregation='max'"),
    (dict(num_ctx=-2), ValueError, 'num_ctx=-2'),
    (dict(ctx_init_std=0), ValueError, 'ctx_init_std=0'),
    (dict(num_ctx=3, ctx_init='a photo of a'), ValueError,
     "ctx_init='a photo of a' has 4 tokens but num_ctx=3"),
    (dict(prompt_template='a photo'), ValueError,
     "prompt_template='a photo'"),
    (dict(num_ctx=80), ValueError,
     "class 'Anger' has 84 tokens .* fewer context vectors"),
    (dict(clip='ViT-B-16'), TypeError, 'clip must be a dict'),
])
def test_bad_arguments(tiny_clip_spec, kwargs, err, match):
    kwargs = dict(kwargs)
    spec = kwargs.pop('clip', tiny_clip_spec)
    with pytest.raises(err, match=match):
        build_head(spec, loss_align=None, **kwargs)


def test_ctx_pooling_needs_class_specific_context(tiny_clip_spec,
                                                  tiny_descriptions):
    align = dict(type='SoftHardAlignLoss', token_pooling='ctx')
    with pytest.raises(ValueError, match="token_pooling='ctx' needs"):
        build_head(tiny_clip_spec, tiny_descriptions, loss_align=align)
    head = build_head(tiny_clip_spec, tiny_descriptions, loss_align=align,
                      class_specific_ctx=True, loss_proto=None)
    head.train()
    losses = head.loss((torch.randn(2, 32), torch.randn(2, 16, 32)),
                       samples([0, 1]))
    assert losses['loss_align'] > 0


@pytest.mark.parametrize('pooling', ['mean', 'eot'])
def test_loss_align_matches_components(tiny_clip_spec, tiny_descriptions,
                                       pooling):
    from mpa_fer_plugin.models.losses import (
        prompt_alignment_loss,
        token_alignment_loss,
    )
    align = dict(type='SoftHardAlignLoss', token_pooling=pooling)
    head = build_head(tiny_clip_spec, tiny_descriptions, loss_align=align,
                      loss_proto=None)
    head.train()
    losses = head.loss((torch.randn(2, 32), torch.randn(2, 16, 32)),
                       samples([0, 1]))
    feats, hidden, embeds = head._encode_prompts()
    if pooling == 'eot':
        soft = hidden
    else:  # mean over context, class-name and '.' tokens
        n_tokens = head.prompt_learner.eot_idx - 1
        soft = torch.stack([
            embeds[c, 1:1 + int(n)].mean(0) for c, n in enumerate(n_tokens)
        ])
    expected = token_alignment_loss(
        soft, head.hard_prompts.token_feats, 0.07) + prompt_alignment_loss(
            feats, head.hard_prompts.text_feats, 'l1')
    torch.testing.assert_close(losses['loss_align'], expected)


def test_shuffled_descriptions(tiny_clip_spec, tiny_descriptions):
    """Control: each class is taught with another class's descriptions."""
    from mpa_fer_plugin.prompts.templates import derangement
    own = build_head(tiny_clip_spec, tiny_descriptions, loss_proto=None)
    shuffled = build_head(tiny_clip_spec, tiny_descriptions,
                          loss_proto=None, shuffle_descriptions=True,
                          shuffle_descriptions_seed=1)
    perm = derangement(len(FER7_CLASSES), 1)
    prefix = 'a photo of a person making a facial expression of '
    for c, p in enumerate(perm):
        name = FER7_CLASSES[c].lower()
        got = shuffled.hard_prompts.prompt_texts[c]
        want = [t.replace(f'{prefix}{FER7_CLASSES[p].lower()}, ',
                          f'{prefix}{name}, ')
                for t in own.hard_prompts.prompt_texts[p]]
        assert got == want != own.hard_prompts.prompt_texts[c]
    assert not torch.allclose(own.hard_prompts.text_feats,
                              shuffled.hard_prompts.text_feats)
    with pytest.raises(ValueError, match='needs granularity=3'):
        build_head(tiny_clip_spec, granularity=2, loss_proto=None,
                   shuffle_descriptions=True)
    with pytest.raises(ValueError, match='needs loss_align'):
        build_head(tiny_clip_spec, loss_align=None, loss_proto=None,
                   shuffle_descriptions=True)


def ctx_grad(head, loss_key='loss_align'):
    head.zero_grad()
    head.train()
    losses = head.loss((torch.randn(2, 32), torch.randn(2, 16, 32)),
                       samples([0, 1]))
    losses[loss_key].backward()
    return head.prompt_learner.ctx.grad


@pytest.mark.parametrize('pooling', ['mean', 'eot'])
def test_token_level_gradient_with_shared_context(tiny_clip_spec,
                                                  tiny_descriptions,
                                                  pooling):
    """'mean' pooling of a shared context: one gradient for every row.

    The pooled soft vector is (sum_j v_j + frozen tokens) / n_c, so L_ta
    gives every context vector v_j the same gradient (it can only move
    their mean). The EOT state has attended to the whole prompt: each row
    gets its own gradient.
    """
    torch.manual_seed(0)
    head = build_head(
        tiny_clip_spec, tiny_descriptions, loss_proto=None,
        loss_align=dict(type='SoftHardAlignLoss', token_pooling=pooling,
                        prompt_weight=0))
    grad = ctx_grad(head)
    assert grad.abs().sum() > 0
    spread = (grad - grad.mean(0, keepdim=True)).abs().max()
    if pooling == 'mean':
        assert spread <= 1e-6 * grad.abs().max()
    else:
        assert spread > 1e-2 * grad.abs().max()


def test_all_patches_is_mean_pooling(tiny_clip_spec):
    head = build_head(tiny_clip_spec, topk_patches='all', loss_align=None,
                      loss_proto=None)
    assert head.topk_patches == 16
    head.eval()
    g, p = torch.randn(2, 32), torch.randn(2, 16, 32)
    text = F.normalize(head.text_features(), dim=-1)
    expected = F.normalize(g, dim=-1) @ text.t() + torch.einsum(
        'bnd,cd->bcn', F.normalize(p, dim=-1), text).mean(-1)
    torch.testing.assert_close(head((g, p)) / head.logit_scale, expected)


def test_random_patch_selection():
    gen = torch.Generator().manual_seed(0)
    g, p, t = torch.randn(3, 8), torch.randn(3, 10, 8), torch.randn(4, 8)
    out = cgla_scores(g, t, p, topk=3, selection='random',
                      generator=torch.Generator().manual_seed(5))
    again = cgla_scores(g, t, p, topk=3, selection='random',
                        generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out, again)
    sims = torch.einsum('bnd,cd->bcn', F.normalize(p, dim=-1),
                        F.normalize(t, dim=-1))
    local = out - F.normalize(g, dim=-1) @ F.normalize(t, dim=-1).t()
    # each image's local term is the mean over one set of 3 patches,
    # shared by all classes: find it among all 3-subsets
    from itertools import combinations
    for b in range(3):
        hits = [s for s in combinations(range(10), 3)
                if torch.allclose(sims[b][:, list(s)].mean(-1), local[b],
                                  atol=1e-6)]
        assert len(hits) == 1
    topk = cgla_scores(g, t, p, topk=3)
    assert (topk >= out - 1e-6).all() and not torch.allclose(topk, out)
    # k = N: random and top-k agree (mean pooling)
    torch.testing.assert_close(
        cgla_scores(g, t, p, topk=10, selection='random', generator=gen),
        cgla_scores(g, t, p, topk=10))
    with pytest.raises(ValueError, match="selection='best'"):
        cgla_scores(g, t, p, topk=3, selection='best')


@pytest.mark.parametrize('align', [
    dict(token_pooling='eot'), dict(token_pooling='mean'),
    dict(l1_reduction='mean')])
def test_gradient_routing(tiny_mpa_cfg, align):
    """L_t -> text context only, L_v -> visual prompts only, L_vt -> both."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_mpa_cfg(head=dict(
        loss_align=dict(type='SoftHardAlignLoss', **align))))
    model.head.set_prototypes(torch.randn(7, 32))
    model.train()
    images = torch.randn(3, 3, 32, 32)
    expected = {'loss_align': {'head.prompt_learner.ctx'},
                'loss_proto': {'backbone.prompts'},
                'loss_cls': {'head.prompt_learner.ctx', 'backbone.prompts'}}
    for key, reached in expected.items():
        model.zero_grad()
        model(images, samples([1, 2, 5]), mode='loss')[key].backward()
        grads = {n for n, p in model.named_parameters()
                 if p.grad is not None and p.grad.abs().sum() > 0}
        assert grads == reached, key
