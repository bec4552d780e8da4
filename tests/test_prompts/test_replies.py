import pytest

from mpa_fer_plugin.prompts.replies import ReplyFormatError, parse_reply


def test_plain_and_fenced_objects():
    text = '{"descriptions": ["raised cheeks", "  smiling   mouth "]}'
    assert parse_reply(text) == ['raised cheeks', 'smiling mouth']
    fenced = '```json\n' + text + '\n```'
    assert parse_reply(fenced, 2) == ['raised cheeks', 'smiling mouth']


def test_drops_blank_non_string_and_duplicate_items():
    text = ('{"descriptions": ["Raised cheeks.", "", 3, null, '
            '"raised  CHEEKS", "smiling mouth", "wide eyes"]}')
    assert parse_reply(text) == ['Raised cheeks.', 'smiling mouth',
                                 'wide eyes']
    assert parse_reply(text, 2) == ['Raised cheeks.', 'smiling mouth']


@pytest.mark.parametrize('text, reason', [
    (None, 'empty'),
    ('   ', 'empty'),
    ('Sure! Here are the features: raised cheeks', 'not valid JSON'),
    ('{"descriptions": ["a", "b"', 'not valid JSON'),
    ('["raised cheeks", "smiling mouth"]', 'JSON list, not an object'),
    ('{"features": ["raised cheeks"]}', 'no "descriptions" list'),
    ('{"descriptions": "raised cheeks"}', 'no "descriptions" list'),
])
def test_rejects_off_schema_replies(text, reason):
    with pytest.raises(ReplyFormatError, match=reason):
        parse_reply(text)


def test_too_few_usable_items():
    text = '{"descriptions": ["raised cheeks", "Raised cheeks", ""]}'
    with pytest.raises(ReplyFormatError, match='expected 3 .* got 1'):
        parse_reply(text, 3)
