"""Generate or check the class descriptions behind MPA-FER's hard prompts.

Generation asks an OpenAI-compatible chat server, once per class, *"What are
the most useful visual features to distinguish the facial expression of
[class]?"* and writes a descriptions file (format:
``mpa_fer_plugin/prompts/descriptions.py``), saved after every class.

Examples (run from the repository root)::

    export OPENAI_API_KEY=...          # never printed, logged or saved
    python tools/generate_descriptions.py --label-set fer8 \\
        --model gpt-4o-mini --out work_dirs/fer8_gpt-4o-mini.json
    # any OpenAI-compatible server (vLLM, Ollama, llama.cpp, a gateway)
    python tools/generate_descriptions.py --classes 'Happiness,Sadness' \\
        --model llama3.1 --base-url http://localhost:11434/v1 --out d.json
    # continue an interrupted or failed run
    python tools/generate_descriptions.py ... --resume
    # check a file: every class, no empty/duplicate text, 77 CLIP tokens
    python tools/generate_descriptions.py --check d.json

Exit codes: 0 success, 1 failed generation or a file with problems, 2 bad
usage, 130 interrupted (finished classes are kept; use ``--resume``).
"""
import argparse
import logging
import os
import sys
import time
import warnings
from typing import List, Optional, Sequence, Tuple

# mmcv-lite has no compiled ops; this tool needs none of them.
warnings.filterwarnings('ignore', message='Fail to import ``MultiScale')

from mpa_fer_plugin.datasets.categories import get_label_set  # noqa: E402
from mpa_fer_plugin.prompts.descriptions import (  # noqa: E402
    CLIP_CONTEXT_LENGTH,
    count_clip_tokens,
    get_clip_tokenizer,
    load_descriptions,
    validate_descriptions,
)
from mpa_fer_plugin.prompts.generation import (  # noqa: E402
    DescriptionGenerationError,
    DescriptionGenerator,
    make_client,
)
from mpa_fer_plugin.prompts.redaction import (  # noqa: E402
    bounded,
    redact_secret,
)
from mpa_fer_plugin.prompts.templates import format_hard_prompt  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description='Generate (or --check) a descriptions file for the '
        'MPA-FER hard prompts.')
    parser.add_argument('--check', metavar='FILE',
                        help='only validate FILE and list every problem')
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--label-set', default=None,
                       help='fer7, fer8, rafdb, affectnet7, affectnet8 or '
                       'ferplus (default for generation: fer8)')
    which.add_argument('--classes', default=None,
                       help="comma-separated class names, e.g. 'Happy,Sad'")
    parser.add_argument('--out', help='descriptions file to write')
    parser.add_argument('--model', help='model name on the server')
    parser.add_argument('--base-url', default=None,
                        help='OpenAI-compatible base URL ending in /v1 '
                        '(default: $OPENAI_BASE_URL or the OpenAI API)')
    parser.add_argument('--n-per-class', type=int, default=5)
    parser.add_argument('--temperature', type=float, default=0.7)
    parser.add_argument('--seed', type=int, default=None,
                        help='sent to the server when given')
    parser.add_argument('--max-words', type=int, default=20,
                        help='word limit per description stated in the '
                        'prompt')
    parser.add_argument('--no-json-mode', action='store_true',
                        help='do not send response_format (for servers that '
                        'reject it); the reply must still be JSON')
    parser.add_argument('--system-prompt', default=None,
                        help='replace the built-in system message')
    parser.add_argument('--user-prompt', default=None,
                        help='replace the built-in question; placeholders '
                        '{cls}, {n}, {max_words}')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument('--resume', action='store_true',
                      help='continue --out, skipping finished classes')
    mode.add_argument('--overwrite', action='store_true',
                      help='start over even if --out exists')
    parser.add_argument('--timeout', type=float, default=60.0,
                        help='seconds per request (default 60)')
    parser.add_argument('--max-retries', type=int, default=2,
                        help="the openai client's own retries on 408/409/"
                        '429/5xx/timeouts (default 2)')
    parser.add_argument('--retry-rounds', type=int, default=2,
                        help='further tries after the client gave up '
                        '(default 2)')
    parser.add_argument('--backoff', type=float, default=2.0,
                        help='base seconds of the wait between those '
                        'tries, doubled each time (default 2)')
    parser.add_argument('--max-reasks', type=int, default=2,
                        help='asks again after a malformed or off-schema '
                        'reply (default 2)')
    parser.add_argument('--context-length', type=int,
                        default=CLIP_CONTEXT_LENGTH,
                        help='CLIP token budget incl. SOT/EOT (default 77)')
    parser.add_argument('--log-file', default=None,
                        help='also write a log (no secrets) to this file')
    args = parser.parse_args(argv)
    if not args.check and (not args.out or not args.model):
        parser.error('generation needs --out and --model (or use --check)')
    return args


def resolve_classes(args: argparse.Namespace
                    ) -> Tuple[Optional[str], Optional[Tuple[str, ...]]]:
    """Return ``(label_set, classes)``; ``(None, None)`` if none given."""
    if args.classes is not None:
        return 'custom', get_label_set(args.classes.split(','))
    if args.label_set is not None:
        return args.label_set.strip().lower(), get_label_set(args.label_set)
    return None, None


def make_logger(log_file: Optional[str]) -> logging.Logger:
    """Warnings to stderr; everything (INFO and up) to ``log_file``."""
    logger = logging.getLogger('mpa_fer_plugin.generate_descriptions')
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter('%(asctime)s %(levelname)s %(message)s')
    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(logging.WARNING)
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)),
                    exist_ok=True)
        handler = logging.FileHandler(log_file, encoding='utf-8')
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


def check(path: str, classes: Optional[Sequence[str]],
          context_length: int) -> int:
    """Validate ``path``, print every problem; return the exit code."""
    tokenizer = get_clip_tokenizer()
    problems = validate_descriptions(path, classes, tokenizer,
                                     context_length)
    if problems:
        print(f'{path}: {len(problems)} problem(s):')
        for problem in problems:
            print(f'  - {problem}')
        return 1
    descs = load_descriptions(path, classes)
    longest = max(count_clip_tokens(format_hard_prompt(c, 3, d), tokenizer)
                  for c, items in descs.items() for d in items)
    print(f'{path}: OK ({len(descs)} classes, '
          f'{sum(map(len, descs.values()))} descriptions, longest prompt '
          f'{longest}/{context_length} tokens)')
    return 0


def generate(args: argparse.Namespace, label_set: str,
             classes: Sequence[str], logger: logging.Logger) -> int:
    """Run the generation; return the exit code."""
    if not os.environ.get('OPENAI_API_KEY'):
        print('error: set OPENAI_API_KEY (any non-empty value for a server '
              'without authentication)', file=sys.stderr)
        return 2
    tokenizer = get_clip_tokenizer()
    try:
        client = make_client(args.base_url, args.timeout, args.max_retries)
        generator = DescriptionGenerator(
            client, args.model, n_per_class=args.n_per_class,
            temperature=args.temperature, seed=args.seed,
            max_words=args.max_words, json_mode=not args.no_json_mode,
            max_reasks=args.max_reasks, retry_rounds=args.retry_rounds,
            backoff=args.backoff, tokenizer=tokenizer,
            context_length=args.context_length,
            system_prompt=args.system_prompt, user_prompt=args.user_prompt,
            logger=logger)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    started: List[float] = [0.0]

    def progress(i: int, total: int, cls: str, status: str) -> None:
        if status == 'ask':
            started[0] = time.monotonic()
            line = f'[{i}/{total}] {cls}: asking {args.model} ...'
        elif status == 'skip':
            line = f'[{i}/{total}] {cls}: already in {args.out}, skipped'
        else:
            line = (f'[{i}/{total}] {cls}: done '
                    f'({time.monotonic() - started[0]:.1f} s)')
        print(line, flush=True)
        logger.info(line)

    try:
        generator.run(classes, args.out, label_set, resume=args.resume,
                      overwrite=args.overwrite, progress=progress)
    except KeyboardInterrupt:
        print(f'\ninterrupted; finished classes are saved in {args.out}. '
              'Rerun with --resume to continue.', file=sys.stderr)
        logger.info('interrupted by the user')
        return 130
    except (DescriptionGenerationError, ValueError, OSError) as err:
        text = bounded(redact_secret(str(err),
                                     os.environ.get('OPENAI_API_KEY')))
        print(f'error: {text}', file=sys.stderr)
        logger.info(f'stopped: {text}')
        if os.path.exists(args.out) and not isinstance(err, ValueError):
            print(f'finished classes are kept in {args.out}; fix the cause '
                  'and rerun with --resume.', file=sys.stderr)
        return 1
    print(f'wrote {args.out}')
    return check(args.out, None, args.context_length)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit code."""
    args = parse_args(argv)
    try:
        label_set, classes = resolve_classes(args)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    if args.check:
        return check(args.check, classes, args.context_length)
    if classes is None:
        label_set, classes = 'fer8', get_label_set('fer8')
    logger = make_logger(args.log_file)
    try:
        return generate(args, label_set, classes, logger)
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()


if __name__ == '__main__':
    sys.exit(main())
