"""MPAZeroShotHead: a class-name template or an ensemble of descriptions on
a frozen CLIP; nothing learned, nothing saved."""
import pytest
import torch
import torch.nn.functional as F

from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.models.heads import MPAZeroShotHead


def _head(spec, **kwargs):
    return MPAZeroShotHead(classnames=FER7_CLASSES, clip=dict(spec),
                           topk_patches=4, **kwargs).eval()


def test_template_and_ensemble(tiny_clip_spec, tiny_descriptions):
    template = _head(tiny_clip_spec)
    ensemble = _head(tiny_clip_spec, classifier='descriptions',
                     descriptions=tiny_descriptions)
    for head in (template, ensemble):
        assert head.prompt_learner.ctx is None
        assert not [p for p in head.parameters() if p.requires_grad]
        feats = head.text_features()
        assert feats.shape == (7, 32)
        # nothing of the text side is saved: the checkpoint stays empty
        assert not [k for k in head.state_dict()
                    if k.startswith(('ensemble', 'prompt_learner.ctx'))]
    assert template.prompt_texts[4] == ['a photo of a Happiness.']
    texts = ensemble.prompt_texts
    assert len(texts[4]) == 2  # two descriptions of Happiness: averaged
    assert texts[4][1].endswith('crow feet wrinkles around the eyes')
    assert torch.allclose(ensemble.text_features().norm(dim=-1),
                          torch.ones(7), atol=1e-5)
    assert not torch.allclose(template.text_features(),
                              ensemble.text_features())
    image = F.normalize(torch.randn(3, 32), dim=-1)
    logits = ensemble((image, ))
    expected = 100.0 * image @ ensemble.text_features().t()
    assert torch.allclose(logits, expected, atol=1e-4)


def test_refuses_learning_switches(tiny_clip_spec):
    with pytest.raises(ValueError, match='classifier'):
        _head(tiny_clip_spec, classifier='prototypes')
    with pytest.raises(ValueError, match='learns nothing.*num_ctx'):
        _head(tiny_clip_spec, num_ctx=4)
    with pytest.raises(ValueError, match='learns nothing.*loss_align'):
        _head(tiny_clip_spec, loss_align=dict(type='SoftHardAlignLoss'))
