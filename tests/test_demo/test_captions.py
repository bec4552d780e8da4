"""mpa_fer_plugin.demo.captions: action-unit captions and descriptions."""
import numpy as np

from mpa_fer_plugin.datasets.synthetic import REGION_NAMES
from mpa_fer_plugin.demo import captions as cap
from mpa_fer_plugin.prompts.descriptions import (
    load_descriptions,
    validate_descriptions,
)

NAME_WORDS = {w for ws in cap.EXPRESSION_WORDS.values() for g in ws
              for w in g}


def test_captions_name_the_expression_only_when_asked():
    rng = np.random.default_rng(0)
    named = [cap.make_caption('Happiness', rng, name_prob=1.0,
                              noun_prob=1.0) for _ in range(20)]
    assert all('happiness' in c and c.count('a face with') == 1
               for c in named)
    plain = [cap.make_caption('Fear', rng, name_prob=0.0)
             for _ in range(50)]
    assert not any(w in c.replace(',', ' ').split() for c in plain
                   for w in NAME_WORDS)
    assert all('a photo of a {}.' != t for t in cap.NOUN_TEMPLATES)
    assert set(cap.REGION_PHRASES) == set(cap.EXPRESSION_WORDS)


def test_region_captions_come_from_the_region_of_their_cue():
    rng = np.random.default_rng(1)
    for cls, cues in cap.REGION_PHRASES.items():
        assert {r for r, _ in cues} <= set(REGION_NAMES), cls
        for _ in range(10):
            region, text = cap.region_caption(cls, rng, name_prob=0.0)
            assert any(region == r and text in p for r, p in cues)


def test_look_alikes_share_all_but_their_discriminating_cue():
    fear = [p[0] for _, p in cap.REGION_PHRASES['Fear']]
    surprise = [p[0] for _, p in cap.REGION_PHRASES['Surprise']]
    assert fear[:-1] == surprise[:-1] and fear[-1] != surprise[-1]
    full = cap.demo_descriptions()
    cut = cap.demo_descriptions(without_cue=True)
    assert 'lips stretched sideways' in full['Fear'][0]
    assert 'lips stretched sideways' not in cut['Fear'][0]
    assert cut['Fear'] == cut['Surprise'] and cut['Anger'] == cut['Disgust']
    assert full['Fear'] != full['Surprise']
    assert all(cut[c] for c in cap.REGION_PHRASES)


def test_written_description_files_are_valid(tmp_path):
    paths = cap.write_demo_descriptions(str(tmp_path))
    assert validate_descriptions(paths[False]) == []
    for without_cue, path in paths.items():
        assert load_descriptions(path) == cap.demo_descriptions(without_cue)
