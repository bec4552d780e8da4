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
    # default: the template as quoted in method.md, no full stop added
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
