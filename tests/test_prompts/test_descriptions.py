import json
import os
import stat

import pytest

from mpa_fer_plugin.datasets.categories import FER_CLASSES
from mpa_fer_plugin.prompts import (
    DEFAULT_DESCRIPTIONS,
    count_clip_tokens,
    load_descriptions,
    save_descriptions,
    validate_descriptions,
)
from mpa_fer_plugin.prompts.descriptions import (
    get_clip_tokenizer,
    normalize_description,
    resume_descriptions,
)
from mpa_fer_plugin.prompts.templates import format_hard_prompt


def make_file(descriptions, classes=None, **extra):
    data = dict(format_version=1, label_set='custom',
                classes=list(classes or descriptions),
                descriptions=descriptions,
                provenance={'method': 'test'})
    data.update(extra)
    return data


# ---------------------------------------------------------------- shipped file
def test_shipped_file_is_complete_and_valid():
    with open(DEFAULT_DESCRIPTIONS, encoding='utf-8') as f:
        data = json.load(f)
    assert data['format_version'] == 1
    assert data['classes'] == list(FER_CLASSES)
    assert list(data['descriptions']) == list(FER_CLASSES)
    assert all(len(v) == 5 for v in data['descriptions'].values())
    assert validate_descriptions(DEFAULT_DESCRIPTIONS) == []
    # margin under CLIP's 77 tokens
    longest = max(count_clip_tokens(format_hard_prompt(c, 3, d))
                  for c, v in data['descriptions'].items() for d in v)
    assert longest <= 50


def test_shipped_provenance_is_honest():
    with open(DEFAULT_DESCRIPTIONS, encoding='utf-8') as f:
        prov = json.load(f)['provenance']
    assert 'hand-written' in prov['method']
    assert 'not generated through an LLM API call' in prov['method']
    assert prov['model'] is None and prov['n_per_class'] == 5
    assert prov['plugin_version']
    # one action-unit note per description
    assert {c: len(v) for c, v in prov['action_units'].items()} == {
        c: 5 for c in FER_CLASSES}
    assert prov['action_units']['Happiness'][0] == 'AU6+AU12'


# ------------------------------------------------------------- load (contract)
def test_load_descriptions_contract(tmp_path):
    assert list(load_descriptions()) == list(FER_CLASSES)
    sub = load_descriptions(DEFAULT_DESCRIPTIONS, ['happiness', 'FEAR'])
    assert list(sub) == ['happiness', 'FEAR'] and len(sub['FEAR']) == 5
    with pytest.raises(ValueError, match=r"lacks classes \['Joy'\]"):
        load_descriptions(DEFAULT_DESCRIPTIONS, ['Joy'])
    with pytest.raises(FileNotFoundError):
        load_descriptions(str(tmp_path / 'nope.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"descriptions": [1,')
    with pytest.raises(ValueError, match='not valid JSON'):
        load_descriptions(str(bad))


# -------------------------------------------------------------------- tokens
def test_count_clip_tokens_matches_open_clip():
    tok = get_clip_tokenizer()
    text = format_hard_prompt('Happiness', 3, "crow's feet, raised cheeks")
    assert count_clip_tokens(text) == int((tok([text])[0] != 0).sum())
    assert count_clip_tokens('') == 2  # SOT + EOT


def test_normalize_description():
    assert normalize_description('  Raised\tCheeks. ') == 'raised cheeks'
    assert normalize_description('raised cheeks') != normalize_description(
        'raised brows')


# ---------------------------------------------------------------- validation
def test_validation_lists_every_problem(tmp_path):
    long_text = ' '.join(['wrinkled'] * 70)
    data = make_file(
        {'Anger': ['lowered brows', 'Lowered   BROWS.'],  # duplicate
         'Fear': [],                                      # empty list
         'Sadness': ['drooping lids', long_text],        # > 77 tokens
         'Happiness': ['raised cheeks', '  ']},          # empty text
        classes=['Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness'])
    path = tmp_path / 'd.json'
    path.write_text(json.dumps(data))
    problems = validate_descriptions(str(path))
    text = '\n'.join(problems)
    assert len(problems) == 5, text
    assert "class 'Anger': duplicate description 'Lowered   BROWS.'" in text
    assert "class 'Disgust': missing" in text
    assert "class 'Fear': no descriptions" in text
    assert "class 'Happiness': description 1 is empty" in text
    n = count_clip_tokens(format_hard_prompt('Sadness', 3, long_text))
    assert f"class 'Sadness': prompt has {n} tokens > 77" in text
    # the prompt is quoted up to 200 characters, with its full length
    prompt = format_hard_prompt('Sadness', 3, long_text)
    assert f'{prompt[:200]!r}... [{len(prompt)} characters in all]' in text


def test_validation_classes_argument_and_context_length():
    data = make_file({'Anger': ['lowered brows'], 'Fear': ['wide eyes']})
    assert validate_descriptions(data, classes=['anger']) == []
    assert validate_descriptions(data, classes=['Joy']) == [
        "class 'Joy': missing from \"descriptions\""]
    # tighter budget: every prompt is now too long
    assert len(validate_descriptions(data, context_length=10)) == 2


def test_validation_cross_class_and_format_problems():
    data = make_file({'Anger': ['tense face'], 'Fear': ['Tense face'],
                      'Joy': ['smile']}, classes=['Anger', 'Fear'],
                     format_version=2)
    del data['provenance']
    problems = validate_descriptions(data)
    text = '\n'.join(problems)
    assert 'format_version is 2' in text
    assert '"provenance" is missing' in text
    assert "class 'Joy' has descriptions but is not in \"classes\"" in text
    assert "also used for class 'Anger'" in text
    assert len(problems) == 4


def test_validation_of_unreadable_input(tmp_path):
    assert 'not found' in validate_descriptions(str(tmp_path / 'x.json'))[0]
    bad = tmp_path / 'bad.json'
    bad.write_text('{"classes": ')
    assert f'file {str(bad)!r} is not valid JSON: line 1, column 13' in \
        validate_descriptions(str(bad))[0]
    bad.write_bytes(b'{"classes":\n ["Fe\xe9r"]}')
    assert "is not valid UTF-8: byte b'\\xe9' at offset 17 (line 2, " \
        'column 6)' in validate_descriptions(str(bad))[0]
    assert 'not an object' in validate_descriptions([1, 2])[0]


# ---------------------------------------------------------------- atomic save
def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / 'sub' / 'd.json'
    first = make_file({'Anger': ['lowered brows']})
    save_descriptions(first, str(path))
    assert json.loads(path.read_text()) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644

    def crash(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(OSError, match='disk full'):
        save_descriptions(make_file({'Fear': ['wide eyes']}), str(path))
    assert json.loads(path.read_text()) == first  # old content intact
    assert os.listdir(path.parent) == ['d.json']  # no temp file left
    with pytest.raises(ValueError, match='"descriptions" mapping'):
        save_descriptions({'classes': []}, str(path))


# -------------------------------------------------------------------- resume
def test_resume_descriptions(tmp_path):
    path = tmp_path / 'd.json'
    data = make_file({'Anger': ['a', 'b'], 'Fear': ['c']},
                     classes=['Anger', 'Fear', 'Joy'])
    data['provenance'].update(model='m1', created='then')
    save_descriptions(data, str(path))
    got = resume_descriptions(str(path), ['Anger', 'Fear', 'Joy'],
                              {'model': 'm1', 'seed': None},
                              ['model', 'seed'], 2)
    assert got['descriptions'] == {'Anger': ['a', 'b']}  # Fear incomplete
    assert got['provenance']['created'] == 'then'
    with pytest.raises(ValueError, match=r"model='m1' \(this run: 'm2'\)"):
        resume_descriptions(str(path), ['Anger', 'Fear', 'Joy'],
                            {'model': 'm2'}, ['model'], 2)
    with pytest.raises(ValueError, match='classes='):
        resume_descriptions(str(path), ['Anger'], {'model': 'm1'},
                            ['model'], 2)
    path.write_text('{"descr')
    with pytest.raises(ValueError, match='cannot resume'):
        resume_descriptions(str(path), ['Anger'], {}, [], 2)


# ------------------------------------------ one validator for build and check
@pytest.mark.parametrize('entry, expect', [
    ('frown', "class 'Anger': no descriptions"),
    ([None, 3], "class 'Anger': description 0 is empty or not a string"),
    ([], "class 'Anger': no descriptions"),
    (7, "class 'Anger': no descriptions"),
    (None, "class 'Anger': no descriptions"),
])
def test_malformed_entries_refused_like_check(tmp_path, entry, expect):
    """What --check rejects, loading rejects too."""
    data = make_file({'Anger': entry, 'Fear': ['wide eyes']})
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps(data))
    assert any(expect in p for p in validate_descriptions(str(path)))
    with pytest.raises(ValueError, match=f'{path}.*{expect}'):
        load_descriptions(str(path), ['Anger', 'Fear'])
    # A class that is fine loads even if another class of the file is not
    # asked for.
    assert load_descriptions(str(path), ['Fear']) == {'Fear': ['wide eyes']}


def test_duplicates_and_tokens_left_to_check_and_tokenizer(tmp_path):
    same = 'a face with raised brows'
    path = tmp_path / 'dup.json'
    path.write_text(json.dumps(make_file({'Fear': [same],
                                          'Surprise': [same]})))
    assert validate_descriptions(str(path))  # --check reports it
    assert load_descriptions(str(path))['Surprise'] == [same]


def test_string_descriptions_refused_at_model_build(tiny_clip_spec,
                                                    tmp_path):
    """The head (hard-prompt teacher) is never built from such a file."""
    from mmpretrain.registry import MODELS

    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    data = make_file({c: [f'{c.lower()} face'] for c in FER7_CLASSES})
    data['descriptions']['Anger'] = 'frown'
    path = tmp_path / 'string.json'
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"string\.json.*class 'Anger'"):
        MODELS.build(dict(type='MPAPromptHead', clip=tiny_clip_spec,
                          classnames=FER7_CLASSES, descriptions=str(path),
                          topk_patches=4, loss_proto=None))


def test_invalid_utf8_and_malformed_files_name_the_file_and_place(
        tiny_clip_spec, tmp_path):
    """At model build too: no bare UnicodeDecodeError naming no file."""
    from mmpretrain.registry import MODELS

    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    text = json.dumps(make_file({c: [f'{c.lower()} face']
                                 for c in FER7_CLASSES}), indent=1)
    path = tmp_path / 'latin1.json'
    raw = text.replace('anger face', 'anger fa\u00e7e').encode('latin-1')
    path.write_bytes(raw)
    offset = raw.index(b'\xe7')
    line = raw[:offset].count(b'\n') + 1
    with pytest.raises(ValueError) as info:
        MODELS.build(dict(type='MPAPromptHead', clip=tiny_clip_spec,
                          classnames=FER7_CLASSES, descriptions=str(path),
                          topk_patches=4, loss_proto=None))
    assert f"descriptions file {str(path)!r} is not valid UTF-8: byte " \
        f"b'\\xe7' at offset {offset} (line {line}, column" in \
        str(info.value)
    with pytest.raises(ValueError, match=r'cannot resume .*latin1\.json.*'
                       r'not valid UTF-8: byte'):
        resume_descriptions(str(path), FER7_CLASSES, {}, [], 1)
    # a UTF-8 byte-order mark is accepted
    path.write_bytes(b'\xef\xbb\xbf' + text.encode())
    assert len(load_descriptions(str(path))) == 7
    # other malformed content: the file and what is wrong
    path.write_text('[1, 2]')
    with pytest.raises(ValueError, match=r"latin1\.json'?: the top level is "
                       'a list'):
        load_descriptions(str(path))
    path.write_text('{"classes": ["Fear"]}')
    with pytest.raises(ValueError, match=r'no "descriptions" object \(keys: '
                       r"\['classes'\]\)"):
        load_descriptions(str(path))
    path.write_text('{"descriptions": {"Fear": ["x"]},\n "b": }')
    with pytest.raises(ValueError, match=r'not valid JSON: line 2, column'):
        load_descriptions(str(path))
