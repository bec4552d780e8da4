import pytest

from mpa_fer_plugin.prompts.templates import (
    HARD_PROMPT_TEMPLATES,
    build_hard_prompts,
    derangement,
    format_hard_prompt,
    shuffle_descriptions,
)


def test_three_granularities():
    assert sorted(HARD_PROMPT_TEMPLATES) == [1, 2, 3]
    assert format_hard_prompt('Happiness', 1) == 'a photo of happiness.'
    assert format_hard_prompt(' Happiness ', 2) == (
        'a photo of a person making a facial expression of happiness.')
    # default: the template as the paper quotes it, no full stop added
    assert format_hard_prompt('Happiness', 3, ' raised cheeks ') == (
        'a photo of a person making a facial expression of happiness, '
        'raised cheeks')
    assert format_hard_prompt('Happiness', 3, ' raised cheeks ',
                              end_period=True) == (
        'a photo of a person making a facial expression of happiness, '
        'raised cheeks.')
    # an existing full stop is kept and not doubled
    for end_period in (False, True):
        assert format_hard_prompt('Fear', 3, 'wide eyes.',
                                  end_period=end_period).endswith(
                                      'fear, wide eyes.')


def test_bad_arguments():
    with pytest.raises(ValueError, match='granularity=4'):
        format_hard_prompt('Fear', 4)
    with pytest.raises(ValueError, match="class 'Fear'"):
        format_hard_prompt('Fear', 3, '  ')


def test_build_hard_prompts():
    descs = {'happiness': ['raised cheeks', 'smile'], 'FEAR': ['wide eyes']}
    prompts = build_hard_prompts(['Happiness', 'Fear'], descs, 3)
    assert [len(p) for p in prompts] == [2, 1]
    assert prompts[1] == [format_hard_prompt('Fear', 3, 'wide eyes')]
    assert prompts[1][0].endswith('wide eyes')
    dotted = build_hard_prompts(['Happiness', 'Fear'], descs, 3,
                                end_period=True)
    assert dotted[1] == ['a photo of a person making a facial expression '
                         'of fear, wide eyes.']
    assert build_hard_prompts(['Fear'], None, 1) == [['a photo of fear.']]
    with pytest.raises(ValueError, match='missing classes'):
        build_hard_prompts(['Anger'], descs, 3)
    with pytest.raises(ValueError, match='need a descriptions file'):
        build_hard_prompts(['Anger'], None, 3)
    with pytest.raises(ValueError, match='no descriptions'):
        build_hard_prompts(['Fear'], {'Fear': []}, 3)


@pytest.mark.parametrize('n', [2, 3, 7, 8])
def test_derangement(n):
    for seed in range(5):
        perm = derangement(n, seed)
        assert sorted(perm) == list(range(n))
        assert all(p != i for i, p in enumerate(perm))
        assert derangement(n, seed) == perm  # deterministic
    assert len({tuple(derangement(7, s)) for s in range(5)}) > 1
    with pytest.raises(ValueError, match='n >= 2'):
        derangement(1)


def test_shuffle_descriptions():
    names = ['Anger', 'Fear', 'Happiness']
    descs = {'anger': ['a'], 'fear': ['f1', 'f2'], 'HAPPINESS': ['h']}
    out = shuffle_descriptions(names, descs, seed=3)
    perm = derangement(3, 3)
    own = {'Anger': ['a'], 'Fear': ['f1', 'f2'], 'Happiness': ['h']}
    assert list(out) == names
    for c, p in zip(names, perm):
        assert out[c] == own[names[p]] != own[c]
    with pytest.raises(ValueError, match='missing classes'):
        shuffle_descriptions(['Anger', 'Sadness'], descs)


def test_default_prompts_end_with_the_description_and_fit_31_tokens():
    """The paper configs' hard prompts: granularity 3, no final period.

    With the shipped descriptions the longest prompt is 31 CLIP tokens
    (SOT and EOT included), as ``tools/generate_descriptions.py --check``
    prints; a final period (``hard_prompt_end_period=True``) makes it 32.
    """
    import os.path as osp

    from mmengine.config import Config

    from mpa_fer_plugin.prompts.descriptions import (
        count_clip_tokens,
        load_descriptions,
    )
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    head = Config.fromfile(osp.join(root, 'configs', '_base_', 'models',
                                    'mpa_fer_vit_b16.py')).model.head
    assert head.granularity == 3 and head.hard_prompt_end_period is False
    shipped = osp.join(root, 'mpa_fer_plugin', 'prompts', 'data',
                       'fer8_descriptions.json')
    descs = load_descriptions(shipped, None)
    prompts = build_hard_prompts(list(descs), descs, 3, end_period=False)
    texts = [t for per_class in prompts for t in per_class]
    assert not any(t.endswith('.') for t in texts)
    assert max(count_clip_tokens(t) for t in texts) == 31
    dotted = build_hard_prompts(list(descs), descs, 3, end_period=True)
    assert max(count_clip_tokens(t) for per_class in dotted
               for t in per_class) == 32
