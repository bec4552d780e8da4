import pytest

from mpa_fer_plugin.prompts.templates import (
    HARD_PROMPT_TEMPLATES,
    build_hard_prompts,
    format_hard_prompt,
)


def test_three_granularities():
    assert sorted(HARD_PROMPT_TEMPLATES) == [1, 2, 3]
    assert format_hard_prompt('Happiness', 1) == 'a photo of happiness.'
    assert format_hard_prompt(' Happiness ', 2) == (
        'a photo of a person making a facial expression of happiness.')
    assert format_hard_prompt('Happiness', 3, ' raised cheeks ') == (
        'a photo of a person making a facial expression of happiness, '
        'raised cheeks.')
    # an existing full stop is not doubled
    assert format_hard_prompt('Fear', 3, 'wide eyes.').endswith(
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
    assert build_hard_prompts(['Fear'], None, 1) == [['a photo of fear.']]
    with pytest.raises(ValueError, match='missing classes'):
        build_hard_prompts(['Anger'], descs, 3)
    with pytest.raises(ValueError, match='need a descriptions file'):
        build_hard_prompts(['Anger'], None, 3)
    with pytest.raises(ValueError, match='no descriptions'):
        build_hard_prompts(['Fear'], {'Fear': []}, 3)
