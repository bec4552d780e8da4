import json
import logging
import time

import pytest
from fake_chat_server import SECRET, Reply, good_descriptions

from mpa_fer_plugin.prompts import validate_descriptions
from mpa_fer_plugin.prompts.descriptions import get_clip_tokenizer
from mpa_fer_plugin.prompts.generation import (
    DescriptionGenerationError,
    DescriptionGenerator,
    describe_endpoint,
    make_client,
)
from mpa_fer_plugin.prompts.redaction import (
    REDACTED,
    redact_secret,
    server_name,
)

CLASSES = ['Anger', 'Fear', 'Happiness']


def make_gen(server, max_retries=0, timeout=5.0, **kwargs):
    client = make_client(server.base_url, timeout=timeout,
                         max_retries=max_retries)
    kwargs.setdefault('n_per_class', 3)
    kwargs.setdefault('backoff', 0.01)
    return DescriptionGenerator(client, 'fake-llm', **kwargs)


def test_happy_path_request_and_file(fake_openai, tmp_path):
    out = tmp_path / 'd.json'
    gen = make_gen(fake_openai, seed=7, temperature=0.2)
    data = gen.run(CLASSES, str(out), label_set='demo')
    assert json.loads(out.read_text()) == data
    assert validate_descriptions(str(out)) == []
    assert data['classes'] == CLASSES and data['label_set'] == 'demo'
    assert data['descriptions']['Fear'] == good_descriptions('fear', 3)
    assert [r['cls'] for r in fake_openai.requests] == [
        'anger', 'fear', 'happiness']
    req = fake_openai.requests[1]
    assert req['path'] == '/v1/chat/completions'
    assert req['headers']['authorization'] == f'Bearer {SECRET}'
    body = req['body']
    assert body['model'] == 'fake-llm'
    assert body['response_format'] == {'type': 'json_object'}
    assert body['temperature'] == 0.2 and body['seed'] == 7
    assert body['messages'] == gen.messages('Fear')
    system, user = body['messages']
    assert system['role'] == 'system' and 'JSON' in system['content']
    assert user['content'].startswith(
        'What are the most useful visual features to distinguish the '
        'facial expression of fear?')
    assert '{"descriptions": [' in user['content']
    prov = data['provenance']
    assert prov['model'] == 'fake-llm' and prov['seed'] == 7
    assert prov['system_prompt'] == system['content']
    assert prov['user_prompt_template'].replace('{cls}', 'fear') == (
        user['content'])
    assert prov['base_url'] == 'http://<host>/v1'
    assert prov['endpoint'] == 'custom endpoint'
    assert prov['replies']['Fear'] == {'model': 'fake-llm-served',
                                       'answers': 1}
    assert '127.0.0.1' not in out.read_text()


def test_json_mode_off_and_seed_unset(fake_openai, tmp_path):
    make_gen(fake_openai, json_mode=False).run(['Fear'],
                                               str(tmp_path / 'd.json'))
    body = fake_openai.requests[0]['body']
    assert 'response_format' not in body and 'seed' not in body


def test_429_retried_by_the_client(fake_openai, tmp_path):
    fake_openai.script('Fear', Reply(status=429,
                                     headers={'retry-after-ms': '10'}))
    gen = make_gen(fake_openai, max_retries=1, retry_rounds=0)
    data = gen.run(['Fear'], str(tmp_path / 'd.json'))
    assert fake_openai.count('Fear') == 2
    assert len(data['descriptions']['Fear']) == 3


def test_5xx_retried_with_backoff(fake_openai, tmp_path, caplog):
    fake_openai.script('Fear', Reply(status=503), Reply(status=500))
    gen = make_gen(fake_openai, retry_rounds=2, backoff=0.05,
                   logger=logging.getLogger('test-gen'))
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger='test-gen'):
        gen.run(['Fear'], str(tmp_path / 'd.json'))
    assert time.monotonic() - start >= 0.05 + 0.1  # 0.05 * (1 + 2)
    assert fake_openai.count('Fear') == 3
    assert 'HTTP 503' in caplog.text and 'trying again in 0.10 s' in (
        caplog.text)


def test_5xx_beyond_budget_keeps_finished_classes(fake_openai, tmp_path):
    fake_openai.script('Fear', *[Reply(status=500)] * 3)
    out = tmp_path / 'd.json'
    gen = make_gen(fake_openai, retry_rounds=1)
    with pytest.raises(DescriptionGenerationError,
                       match=r"class 'Fear': giving up after 2 tries.*500"):
        gen.run(CLASSES, str(out))
    saved = json.loads(out.read_text())
    assert list(saved['descriptions']) == ['Anger']
    assert fake_openai.count('Happiness') == 0
    # resume: Anger is not asked again; Fear gets its last 500 (retried)
    data = make_gen(fake_openai, retry_rounds=1).run(CLASSES, str(out),
                                                     resume=True)
    assert [fake_openai.count(c) for c in CLASSES] == [1, 4, 1]
    assert validate_descriptions(data) == []


def test_timeout_then_success(fake_openai, tmp_path):
    fake_openai.script('Fear', Reply(delay=1.0))
    gen = make_gen(fake_openai, timeout=0.3, retry_rounds=1)
    start = time.monotonic()
    data = gen.run(['Fear'], str(tmp_path / 'd.json'))
    assert time.monotonic() - start < 1.0
    assert fake_openai.count('Fear') == 2 and data['descriptions']['Fear']


def test_timeouts_beyond_budget(fake_openai, tmp_path):
    fake_openai.script('Fear', Reply(delay=0.8), Reply(delay=0.8))
    gen = make_gen(fake_openai, timeout=0.3, retry_rounds=1)
    with pytest.raises(DescriptionGenerationError,
                       match="class 'Fear'.*APITimeoutError"):
        gen.run(['Fear'], str(tmp_path / 'd.json'))


def test_malformed_then_valid_reask(fake_openai, tmp_path):
    fake_openai.script('Fear', Reply(content='Sure! Wide eyes, raised brows'),
                       Reply(content='{"descriptions": ["wide eyes"]}'))
    data = make_gen(fake_openai).run(['Fear'], str(tmp_path / 'd.json'))
    assert data['provenance']['replies']['Fear']['answers'] == 3
    second = fake_openai.requests[1]['body']['messages']
    assert second[2] == {'role': 'assistant',
                         'content': 'Sure! Wide eyes, raised brows'}
    assert second[3]['role'] == 'user'
    assert 'not valid JSON' in second[3]['content']
    # provenance records the correction message exactly as sent
    head, tail = data['provenance']['reask_prompt'].split('{reason}')
    assert second[3]['content'].startswith(head)
    assert second[3]['content'].endswith(tail)
    third = fake_openai.requests[2]['body']['messages']
    assert 'expected 3 different' in third[3]['content']
    assert len(third) == 4  # the conversation does not keep growing


REFUSAL = json.dumps({
    'id': 'r', 'object': 'chat.completion', 'created': 0, 'model': 'm',
    'choices': [{'index': 0, 'finish_reason': 'stop', 'message': {
        'role': 'assistant', 'content': None, 'refusal': 'I cannot help.'}}]})


@pytest.mark.parametrize('raw, reason', [
    ('<html>502 from a proxy</html>', 'no chat completion'),
    ('{"id": "x", "choices": []}', 'has no message'),
    (REFUSAL, 'the model refused: I cannot help.')])
def test_response_without_completion_is_reasked(fake_openai, tmp_path, raw,
                                                reason):
    fake_openai.script('Fear', Reply(raw=raw))
    data = make_gen(fake_openai).run(['Fear'], str(tmp_path / 'd.json'))
    assert data['provenance']['replies']['Fear']['answers'] == 2
    assert reason in fake_openai.requests[1]['body']['messages'][-1][
        'content']


def test_malformed_beyond_budget(fake_openai, tmp_path):
    fake_openai.script('Fear', *[Reply(content='{"oops": 1}')] * 3)
    with pytest.raises(DescriptionGenerationError,
                       match="class 'Fear': no usable reply in 2 answers; "
                       'last problem: .*no "descriptions" list'):
        make_gen(fake_openai, max_reasks=1).run(['Fear'],
                                                str(tmp_path / 'd.json'))
    assert fake_openai.count('Fear') == 2


def test_cut_off_reply_is_named(fake_openai, tmp_path):
    fake_openai.script('Fear', *[Reply(content='{"descriptions": ["wi',
                                       finish_reason='length')] * 2)
    with pytest.raises(DescriptionGenerationError, match='cut off'):
        make_gen(fake_openai, max_reasks=1).run(['Fear'],
                                                str(tmp_path / 'd.json'))


def test_too_long_descriptions_are_reasked(fake_openai, tmp_path):
    long_one = ' '.join(['furrowed'] * 70)
    fake_openai.script('Fear', Reply(content=json.dumps(
        {'descriptions': ['wide eyes', 'raised brows', long_one]})))
    gen = make_gen(fake_openai, tokenizer=get_clip_tokenizer())
    data = gen.run(['Fear'], str(tmp_path / 'd.json'))
    assert fake_openai.count('Fear') == 2
    assert long_one not in data['descriptions']['Fear']
    assert 'too long' in fake_openai.requests[1]['body']['messages'][3][
        'content']


def test_auth_error_not_retried_and_key_redacted(fake_openai, tmp_path,
                                                 caplog):
    fake_openai.script('Fear', Reply(
        status=401, content=f'Incorrect API key provided: {SECRET}'))
    gen = make_gen(fake_openai, max_retries=2, retry_rounds=2)
    with pytest.raises(DescriptionGenerationError) as info:
        gen.run(['Fear'], str(tmp_path / 'd.json'))
    assert fake_openai.count('Fear') == 1
    assert 'HTTP 401' in str(info.value)
    assert '[redacted API key]' in str(info.value)
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None and info.value.classname == 'Fear'


def test_interrupt_then_resume(fake_openai, tmp_path):
    out = tmp_path / 'd.json'

    def stop_after_second(i, total, cls, status):
        if status == 'done' and i == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_gen(fake_openai).run(CLASSES, str(out),
                                  progress=stop_after_second)
    assert list(json.loads(out.read_text())['descriptions']) == CLASSES[:2]
    seen = []
    make_gen(fake_openai).run(CLASSES, str(out), resume=True,
                              progress=lambda *a: seen.append(a[2:]))
    assert [fake_openai.count(c) for c in CLASSES] == [1, 1, 1]
    assert seen == [('Anger', 'skip'), ('Fear', 'skip'),
                    ('Happiness', 'ask'), ('Happiness', 'done')]
    assert validate_descriptions(str(out)) == []


def test_resume_refuses_other_settings(fake_openai, tmp_path):
    out = tmp_path / 'd.json'
    make_gen(fake_openai).run(['Fear'], str(out))
    with pytest.raises(ValueError, match=r'n_per_class=3 \(this run: 4\)'):
        make_gen(fake_openai, n_per_class=4).run(['Fear'], str(out),
                                                 resume=True)
    other_prompt = 'Describe {cls} in {n} JSON strings under "descriptions".'
    with pytest.raises(ValueError, match='user_prompt_template='):
        make_gen(fake_openai, user_prompt=other_prompt).run(
            ['Fear'], str(out), resume=True)
    with pytest.raises(ValueError, match='classes='):
        make_gen(fake_openai).run(['Fear', 'Anger'], str(out), resume=True)
    with pytest.raises(DescriptionGenerationError, match='exists'):
        make_gen(fake_openai).run(['Fear'], str(out))
    assert fake_openai.count('Fear') == 1


def test_constructor_validation(fake_openai):
    client = make_client(fake_openai.base_url)
    with pytest.raises(ValueError, match='n_per_class=0'):
        DescriptionGenerator(client, 'm', n_per_class=0)
    with pytest.raises(ValueError, match='model='):
        DescriptionGenerator(client, ' ')
    with pytest.raises(ValueError, match='{cls}'):
        DescriptionGenerator(client, 'm', user_prompt='Describe faces')
    with pytest.raises(ValueError, match='bad placeholder'):
        DescriptionGenerator(client, 'm', user_prompt='{cls} {colour}')


def test_make_client_needs_a_key(monkeypatch):
    monkeypatch.delenv('OPENAI_API_KEY')
    with pytest.raises(ValueError, match='OPENAI_API_KEY'):
        make_client('http://127.0.0.1:9/v1')


@pytest.mark.parametrize('url, expected', [
    ('http://127.0.0.1:8000/v1/', ('http://<host>/v1', 'custom endpoint')),
    ('https://user:pw@gw.example.org/openai/v1?key=abc',
     ('https://<host>/openai/v1', 'custom endpoint')),
    ('https://api.openai.com/v1', ('https://<host>/v1', 'api.openai.com')),
    ('', ('custom endpoint', 'custom endpoint')),
])
def test_describe_endpoint(url, expected):
    assert describe_endpoint(url) == expected


# ------------------------------------------------- hostile or broken servers
def _no_key_run(text):
    """No 12-character run of the key is in ``text``."""
    return not any(SECRET[i:i + 12] in text
                   for i in range(len(SECRET) - 11))


def test_key_echoed_in_a_reply_is_never_written_or_logged(
        fake_openai, tmp_path, caplog):
    echo = json.dumps({'descriptions': [
        f'the key is {SECRET}', f'partial {SECRET[4:20]} echo',
        'raised brows and widened eyes']})
    fake_openai.script('Fear', Reply(content=echo))
    fake_openai.script('Anger', Reply(model=f'gpt-{SECRET}'))
    out = tmp_path / 'd.json'
    gen = make_gen(fake_openai, logger=logging.getLogger('test-gen'))
    with caplog.at_level(logging.WARNING, logger='test-gen'):
        data = gen.run(['Fear', 'Anger'], str(out))
    text = out.read_text()
    assert _no_key_run(text) and _no_key_run(caplog.text)
    # the two descriptions carrying the key were dropped, Fear asked again
    assert fake_openai.count('Fear') == 2
    assert data['descriptions']['Fear'] == good_descriptions('fear', 3)
    assert 'contains the API key in 2 description(s); they are dropped' \
        in caplog.text
    # what went back to the server in the re-ask is redacted as well
    resent = json.dumps(fake_openai.requests[1]['body']['messages'])
    assert _no_key_run(resent) and REDACTED in resent
    # a served model name echoing it is redacted in the provenance
    assert data['provenance']['replies']['Anger']['model'] == \
        f'gpt-{REDACTED}'


def test_redact_secret_exact_partial_and_overlapping():
    assert redact_secret(f'a {SECRET} b', SECRET) == f'a {REDACTED} b'
    assert redact_secret(f'x{SECRET[3:18]}y', SECRET) == f'x{REDACTED}y'
    assert redact_secret(SECRET[:11], SECRET) == SECRET[:11]  # 11 < 12
    assert redact_secret('nothing here', SECRET) == 'nothing here'
    assert redact_secret('text', None) == 'text'
    assert server_name('http://u:pw@h.example:81/v1?k=s') == \
        'http://h.example:81/v1'


def test_huge_description_gives_bounded_error_lines(fake_openai, tmp_path,
                                                    caplog):
    huge = 'a' * 10_000_000
    for _ in range(3):
        fake_openai.script('Fear', Reply(content=json.dumps(
            {'descriptions': [huge, 'b c', 'd e']})))
    gen = make_gen(fake_openai, max_reasks=2,
                   logger=logging.getLogger('test-gen'))
    with caplog.at_level(logging.WARNING, logger='test-gen'):
        with pytest.raises(DescriptionGenerationError) as info:
            gen.run(['Fear'], str(tmp_path / 'd.json'))
    message = str(info.value)
    assert len(message) < 1100
    assert 'a description of 10000000 characters (at most 20 words were ' \
        'asked)' in message
    assert '[10000000 characters in all]' in message
    lines = [r.getMessage() for r in caplog.records]
    assert lines and max(map(len, lines)) < 1100


def test_invalid_utf8_reply_names_the_class_and_the_server(fake_openai,
                                                           tmp_path):
    body = ('{"id": "x", "object": "chat.completion", "created": 0, '
            '"model": "m", "choices": [{"index": 0, "finish_reason": '
            '"stop", "message": {"role": "assistant", "content": '
            '"{\\"descriptions\\": [\\"caf').encode() + \
        b'\xe9 brows\\"]}"}}]}'
    fake_openai.script('Fear', Reply(raw=body))
    gen = make_gen(fake_openai)
    with pytest.raises(DescriptionGenerationError) as info:
        gen.run(['Fear'], str(tmp_path / 'd.json'))
    message = str(info.value)
    assert message.startswith("class 'Fear': the server "
                              f'{fake_openai.base_url} sent a reply that '
                              "is not valid UTF-8 (byte b'\\xe9' at offset")
    assert info.value.classname == 'Fear'
