"""Asking an LLM for class descriptions (the hard prompts of MPA-FER).

As in the paper, for each class the LLM answers *"What are the most useful
visual features to distinguish the facial expression of [class]?"*. Here the
question goes to any OpenAI-compatible chat-completions server through the
official ``openai`` client, asking for a JSON object ``{"descriptions":
[...]}`` with N short descriptions. The result is a descriptions file (format:
:mod:`.descriptions`), saved atomically after every class so that an
interrupted run can be resumed.

Failure handling, in order:

* 408/409/429/5xx, timeouts and connection errors are retried by the client
  itself (``max_retries``, honouring ``Retry-After``); when it gives up, the
  generator waits ``backoff * 2**k`` seconds and tries again, up to
  ``retry_rounds`` times.
* A reply that is not the requested JSON (or has too few usable
  descriptions) is answered with a correction and asked again, up to
  ``max_reasks`` times.
* Anything else (400/401/403/404, or the budgets above spent) raises
  :class:`DescriptionGenerationError` naming the class; finished classes stay
  in the file.

The API key never reaches a log, an error message or the file: the exact
key and any run of 12 or more of its characters found in a reply (a
hostile or misconfigured server echoing it) are redacted before anything is
written or printed (:mod:`.redaction`), and descriptions that carried it
are dropped (the class is asked again). Quoted reply text in messages is
cut to 200 characters with its full length stated; a reply that is not
UTF-8 stops with the class and the server named.
"""
import json
import logging
import os.path as osp
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import openai
from mmengine.logging import print_log

from ..version import __version__
from .descriptions import (
    CLIP_CONTEXT_LENGTH,
    FORMAT_VERSION,
    count_clip_tokens,
    resume_descriptions,
    save_descriptions,
    shorten,
)
from .redaction import (  # noqa: F401  (describe_endpoint: public here)
    bounded,
    describe_endpoint,
    redact_secret,
    server_name,
)
from .replies import ReplyFormatError, parse_reply
from .templates import format_hard_prompt

SYSTEM_PROMPT = (
    'You are an expert in facial expression analysis and the Facial Action '
    'Coding System (FACS). You describe only what can be seen on a face in a '
    'photo. You answer with a single JSON object and nothing else.')
#: ``{cls}``, ``{n}`` and ``{max_words}`` are filled in per request.
USER_PROMPT = (
    'What are the most useful visual features to distinguish the facial '
    'expression of {cls}? Give {n} different descriptions, each a short '
    'phrase of at most {max_words} words about visible facial features '
    '(brows, forehead, eyes, eyelids, nose, cheeks, mouth, lips, chin). Do '
    'not repeat the expression name. Answer with only a JSON object of the '
    'form {{"descriptions": ["<description 1>", ..., "<description {n}>"]}} '
    'holding exactly {n} strings.')
REASK_PROMPT = (
    'That reply could not be used: {reason}. Answer again with only the JSON '
    'object {{"descriptions": [...]}} holding exactly {n} different short '
    'descriptions.')
#: Provenance entries that must match for ``resume`` to continue a file.
RESUME_KEYS = ('model', 'system_prompt', 'user_prompt_template',
               'n_per_class', 'max_words', 'temperature', 'seed', 'json_mode')
TOOL_NAME = 'tools/generate_descriptions.py'

#: ``progress(index, total, classname, status)``, status one of ``'skip'``
#: (already in the resumed file), ``'ask'`` and ``'done'``.
ProgressFn = Callable[[int, int, str, str], None]


class DescriptionGenerationError(RuntimeError):
    """Generation stopped; the message names the class and the reason.

    Args:
        classname (str, optional): The class being asked for, if any.
        message (str): What went wrong.
    """

    def __init__(self, classname: Optional[str], message: str) -> None:
        self.classname = classname
        prefix = f'class {classname!r}: ' if classname else ''
        super().__init__(bounded(prefix + message))


def make_client(base_url: Optional[str] = None,
                timeout: float = 60.0,
                max_retries: int = 2,
                api_key: Optional[str] = None) -> openai.OpenAI:
    """Build the ``openai`` client; the key comes from ``OPENAI_API_KEY``.

    Args:
        base_url (str, optional): An OpenAI-compatible ``.../v1`` URL.
            Defaults to ``OPENAI_BASE_URL`` or the OpenAI API.
        timeout (float): Seconds per request. Defaults to ``60.0``.
        max_retries (int): The client's own retries. Defaults to ``2``.
        api_key (str, optional): Overrides ``OPENAI_API_KEY``.

    Returns:
        openai.OpenAI: The client.
    """
    try:
        return openai.OpenAI(base_url=base_url, api_key=api_key,
                             timeout=timeout, max_retries=max_retries)
    except openai.OpenAIError as err:
        raise ValueError('no API key: set OPENAI_API_KEY (any non-empty '
                         'value for a server without authentication)'
                         ) from err


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


class DescriptionGenerator:
    """Ask an OpenAI-compatible chat model for per-class descriptions.

    Args:
        client (openai.OpenAI): See :func:`make_client`.
        model (str): Model name on that server.
        n_per_class (int): Descriptions per class. Defaults to ``5``.
        temperature (float): Sampling temperature. Defaults to ``0.7``.
        seed (int, optional): Sent as ``seed`` when given. Defaults to
            ``None``.
        max_words (int): Word limit stated in the prompt. Defaults to ``20``.
        json_mode (bool): Send ``response_format={'type': 'json_object'}``
            (turn off for servers that reject it). Defaults to ``True``.
        max_reasks (int): Extra asks after an unusable reply. Defaults to
            ``2``.
        retry_rounds (int): Extra tries after the client's own retries gave
            up on a transient error. Defaults to ``2``.
        backoff (float): Base of the exponential wait between those tries,
            in seconds. Defaults to ``2.0``.
        tokenizer: If given (open_clip ``SimpleTokenizer``-like), a
            description whose granularity-3 prompt exceeds
            ``context_length`` tokens is unusable. Defaults to ``None``.
        context_length (int): CLIP token budget. Defaults to ``77``.
        system_prompt (str, optional): Overrides :data:`SYSTEM_PROMPT`.
        user_prompt (str, optional): Overrides :data:`USER_PROMPT`; must
            contain ``{cls}`` and may use ``{n}`` and ``{max_words}``.
        logger (logging.Logger | str): For :func:`print_log`. Defaults to
            ``'current'``.
    """

    def __init__(self,
                 client: openai.OpenAI,
                 model: str,
                 n_per_class: int = 5,
                 temperature: float = 0.7,
                 seed: Optional[int] = None,
                 max_words: int = 20,
                 json_mode: bool = True,
                 max_reasks: int = 2,
                 retry_rounds: int = 2,
                 backoff: float = 2.0,
                 tokenizer=None,
                 context_length: int = CLIP_CONTEXT_LENGTH,
                 system_prompt: Optional[str] = None,
                 user_prompt: Optional[str] = None,
                 logger: Union[logging.Logger, str] = 'current') -> None:
        if not model or not model.strip():
            raise ValueError(f'model={model!r} must be a non-empty name')
        for name, value, low in (('n_per_class', n_per_class, 1),
                                 ('max_words', max_words, 1),
                                 ('max_reasks', max_reasks, 0),
                                 ('retry_rounds', retry_rounds, 0)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f'{name}={value!r} must be an int >= {low}')
        if backoff < 0:
            raise ValueError(f'backoff={backoff!r} must be >= 0')
        user_prompt = USER_PROMPT if user_prompt is None else user_prompt
        if '{cls}' not in user_prompt:
            raise ValueError('user_prompt must contain the {cls} placeholder')
        try:
            self.user_prompt_template = user_prompt.format(
                cls='{cls}', n=n_per_class, max_words=max_words)
        except (KeyError, IndexError, ValueError) as err:
            raise ValueError(f'user_prompt has a bad placeholder: {err!r}; '
                             'use {cls}, {n}, {max_words} (and {{ }} for '
                             'literal braces)') from err
        self.client, self.model = client, model
        self.n, self.max_words = n_per_class, max_words
        self.temperature, self.seed, self.json_mode = (temperature, seed,
                                                       json_mode)
        self.max_reasks, self.retry_rounds = max_reasks, retry_rounds
        self.backoff, self.logger = backoff, logger
        self.tokenizer, self.context_length = tokenizer, context_length
        self.system_prompt = (SYSTEM_PROMPT if system_prompt is None else
                              system_prompt)
        self._secret = getattr(client, 'api_key', None) or None

    def settings(self) -> Dict[str, Any]:
        """Return the provenance entries of this generator (no secrets)."""
        url, endpoint = describe_endpoint(getattr(self.client, 'base_url',
                                                  ''))
        return dict(
            tool=TOOL_NAME, plugin_version=__version__,
            method='chat completion on an OpenAI-compatible API, JSON reply',
            model=self.model, base_url=url, endpoint=endpoint,
            system_prompt=self.system_prompt,
            user_prompt_template=self.user_prompt_template,
            reask_prompt=REASK_PROMPT.format(reason='{reason}', n=self.n),
            temperature=self.temperature, seed=self.seed,
            n_per_class=self.n, max_words=self.max_words,
            json_mode=self.json_mode)

    def messages(self, classname: str) -> List[Dict[str, str]]:
        """Return the chat messages that ask for ``classname``."""
        user = self.user_prompt_template.replace(
            '{cls}', classname.strip().lower())
        return [{'role': 'system', 'content': self.system_prompt},
                {'role': 'user', 'content': user}]

    def _redact(self, text: str) -> str:
        return redact_secret(text, self._secret)

    def _log(self, msg: str, level: int = logging.WARNING) -> None:
        print_log(bounded(self._redact(msg)), logger=self.logger,
                  level=level)

    def _server(self) -> str:
        return server_name(getattr(self.client, 'base_url', ''))

    def _describe(self, err: Exception) -> str:
        status = getattr(err, 'status_code', None)
        text = f'HTTP {status}: {err}' if status else f'{err}'
        return self._redact(f'{type(err).__name__} ({text})')

    def _complete(self, messages: List[Dict[str, str]], classname: str):
        kwargs: Dict[str, Any] = dict(model=self.model, messages=messages,
                                      temperature=self.temperature)
        if self.seed is not None:
            kwargs['seed'] = self.seed
        if self.json_mode:
            kwargs['response_format'] = {'type': 'json_object'}
        for k in range(self.retry_rounds + 1):
            try:
                return self.client.chat.completions.create(**kwargs)
            except openai.APIStatusError as err:
                status = err.status_code
                if status not in (408, 409, 429) and status < 500:
                    raise DescriptionGenerationError(
                        classname, 'the server refused the request: '
                        f'{self._describe(err)}') from None
                error = err
            except openai.APIConnectionError as err:  # timeouts included
                error = err
            except UnicodeDecodeError as err:
                bad = err.object[err.start:err.start + 1]
                raise DescriptionGenerationError(
                    classname, f'the server {self._server()} sent a reply '
                    f'that is not valid UTF-8 (byte {bad!r} at offset '
                    f'{err.start}); is --base-url an OpenAI-compatible '
                    'server?') from None
            except (json.JSONDecodeError,
                    openai.APIResponseValidationError) as err:
                # a 200 whose body is not JSON (e.g. a proxy's HTML page)
                raise ReplyFormatError('the server sent no chat completion '
                                       f'({type(err).__name__})') from None
            if k == self.retry_rounds:
                raise DescriptionGenerationError(
                    classname, f'giving up after {k + 1} tries (each with '
                    f"the client's own retries): {self._describe(error)}"
                ) from None
            delay = self.backoff * 2**k
            self._log(f'class {classname!r}: {self._describe(error)}; '
                      f'trying again in {delay:.2f} s')
            time.sleep(delay)

    def _usable(self, reply: Any, classname: str) -> List[str]:
        choices = getattr(reply, 'choices', None)
        if not choices or getattr(choices[0], 'message', None) is None:
            raise ReplyFormatError('the response has no message')
        message = choices[0].message
        if getattr(message, 'refusal', None):
            raise ReplyFormatError('the model refused: '
                                   + shorten(self._redact(message.refusal),
                                             quote=False))
        try:
            descs = parse_reply(getattr(message, 'content', None))
        except ReplyFormatError as err:
            if getattr(choices[0], 'finish_reason', None) == 'length':
                raise ReplyFormatError(f'{err} (cut off at the length '
                                       'limit)') from None
            raise
        leaked = [d for d in descs if self._redact(d) != d]
        if leaked:
            self._log(f'class {classname!r}: the reply of {self._server()} '
                      f'contains the API key in {len(leaked)} '
                      'description(s); they are dropped (the key is '
                      'redacted everywhere)')
            descs = [d for d in descs if d not in leaked]
            if len(descs) < self.n:
                raise ReplyFormatError('the reply repeated the API key; '
                                       'describe facial features only')
        huge = [d for d in descs if len(d) > 40 * self.max_words]
        if huge:
            raise ReplyFormatError(
                f'a description of {len(huge[0])} characters (at most '
                f'{self.max_words} words were asked): {shorten(huge[0])}')
        if self.tokenizer is not None:
            too_long = [d for d in descs if count_clip_tokens(
                format_hard_prompt(classname, 3, d), self.tokenizer)
                > self.context_length]
            descs = [d for d in descs if d not in too_long]
            if len(descs) < self.n and too_long:
                raise ReplyFormatError(
                    f'{len(too_long)} description(s) are too long for '
                    f"CLIP's {self.context_length} tokens, e.g. "
                    f'{shorten(too_long[0])}; keep each under '
                    f'{self.max_words} words')
        if len(descs) < self.n:
            raise ReplyFormatError(f'expected {self.n} different non-empty '
                                   f'string descriptions, got {len(descs)}')
        return descs[:self.n]

    def ask(self, classname: str) -> Tuple[List[str], Dict[str, Any]]:
        """Ask for one class, re-asking after unusable replies.

        Args:
            classname (str): The class name.

        Returns:
            tuple[list[str], dict]: The descriptions and reply provenance
            (served ``model`` and number of ``answers``).
        """
        base = self.messages(classname)
        messages = base
        for attempt in range(self.max_reasks + 1):
            reply = None
            try:
                reply = self._complete(messages, classname)
                descs = self._usable(reply, classname)
                served = self._redact(getattr(reply, 'model', None))
                return descs, {'model': shorten(served, 200, quote=False)
                               if isinstance(served, str) else served,
                               'answers': attempt + 1}
            except ReplyFormatError as err:
                problem = self._redact(str(err))
            if attempt == self.max_reasks:
                break
            self._log(f'class {classname!r}: unusable reply ({problem}); '
                      f'asking again ({attempt + 1}/{self.max_reasks})')
            messages = list(base)
            content = getattr(reply.choices[0].message, 'content', None) \
                if getattr(reply, 'choices', None) else None
            if content:
                messages.append({'role': 'assistant',
                                 'content': self._redact(content[:4000])})
            messages.append({'role': 'user', 'content': REASK_PROMPT.format(
                reason=problem, n=self.n)})
        raise DescriptionGenerationError(
            classname, f'no usable reply in {self.max_reasks + 1} answers; '
            f'last problem: {problem}')

    def run(self,
            classes: Sequence[str],
            out: str,
            label_set: str = 'custom',
            resume: bool = False,
            overwrite: bool = False,
            progress: Optional[ProgressFn] = None) -> Dict[str, Any]:
        """Ask for every class, saving ``out`` atomically after each one.

        Args:
            classes (Sequence[str]): Class names, in model order.
            out (str): The descriptions file to write.
            label_set (str): Label-set name recorded in the file. Defaults
                to ``'custom'``.
            resume (bool): Continue ``out`` if it exists, skipping finished
                classes; refused if it was made with other settings.
                Defaults to ``False``.
            overwrite (bool): Start over even if ``out`` exists. Defaults to
                ``False``.
            progress (callable, optional): See :data:`ProgressFn`.

        Returns:
            dict: The complete descriptions object (as written).
        """
        classes, settings = list(classes), self.settings()
        if resume and osp.exists(out) and not overwrite:
            data = resume_descriptions(out, classes, settings, RESUME_KEYS,
                                       self.n)
            data['label_set'] = label_set
        elif osp.exists(out) and not overwrite:
            raise DescriptionGenerationError(
                None, f'{out} exists; resume it (--resume) or start over '
                '(--overwrite)')
        else:
            data = dict(format_version=FORMAT_VERSION, label_set=label_set,
                        classes=classes, descriptions={},
                        provenance=dict(settings, created=_now(),
                                        updated=None, replies={}))
            save_descriptions(data, out)
        done = data['descriptions']
        total = len(classes)
        for i, cls in enumerate(classes, 1):
            if len(done.get(cls, [])) == self.n:
                if progress:
                    progress(i, total, cls, 'skip')
                continue
            if progress:
                progress(i, total, cls, 'ask')
            descs, info = self.ask(cls)
            done[cls] = descs
            data['descriptions'] = {c: done[c] for c in classes if c in done}
            data['provenance']['replies'][cls] = info
            data['provenance']['updated'] = _now()
            save_descriptions(data, out)
            self._log(f'class {cls!r}: saved {len(descs)} descriptions to '
                      f'{out}', logging.INFO)
            if progress:
                progress(i, total, cls, 'done')
        return data

