"""Run the commands of ``tools/demo.py`` quietly, each into its own log.

A step is one or more tool commands. Quietly (the default of the demo),
each command's output goes to the step's log file and the terminal shows a
progress bar (``rich``, only on a terminal) fed by the iteration lines
that mmengine's ``LoggerHook`` writes (``Epoch(train) [e][i/n]``,
``Epoch(test) [i/n]``). A failing command raises :class:`StepFailed`
carrying the log path and its last lines. ``verbose=True`` streams the
output to the terminal instead, as the demo always did.
"""
import os
import re
import subprocess
import sys
from collections import deque
from typing import Dict, List, Optional, Tuple

_TRAIN = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]')
_EVAL = re.compile(r'Epoch\((?:test|val)\)\s*(?:\[\d+\])?\[\s*(\d+)/(\d+)\]')


class StepFailed(RuntimeError):
    """A demo command exited with an error.

    Attributes:
        cmd (list[str]): The command.
        returncode (int): Its exit status.
        log (str): The log file with its whole output.
        tail (list[str]): The last lines of that output.
    """

    def __init__(self, cmd: List[str], returncode: int, log: str,
                 tail: List[str]) -> None:
        self.cmd, self.returncode, self.log = cmd, returncode, log
        self.tail = tail
        super().__init__(f'{" ".join(cmd)} exited with {returncode} '
                         f'(log: {log})')


def parse_progress(line: str, max_epochs: Optional[int] = None
                   ) -> Optional[Tuple[str, int, int]]:
    """Read the progress from one mmengine log line.

    Args:
        line (str): A line of a tool's output.
        max_epochs (int, optional): Epochs of the training, to turn
            ``Epoch(train) [e][i/n]`` into a fraction of the whole run;
            without it the bar covers the current epoch.

    Returns:
        tuple | None: ``(kind, done, total)`` with ``kind`` ``'train'`` or
        ``'eval'`` (validation or test iterations), or None for other
        lines.
    """
    match = _TRAIN.search(line)
    if match:
        epoch, it, n = (int(g) for g in match.groups())
        if max_epochs:
            return 'train', (epoch - 1) * n + it, max_epochs * n
        return 'train', it, n
    match = _EVAL.search(line)
    if match:
        return 'eval', int(match.group(1)), int(match.group(2))
    return None


class _Bar:
    """A transient ``rich`` progress bar, or nothing off a terminal."""

    def __init__(self, title: str, enabled: bool) -> None:
        self.progress = self.task = None
        if not enabled:
            return
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
        self.progress = Progress(
            TextColumn('      {task.description}'), BarColumn(),
            TextColumn('{task.percentage:>3.0f}%'), TimeElapsedColumn(),
            transient=True)
        self.task = self.progress.add_task(title, total=None)
        self.progress.start()

    def update(self, kind: str, done: int, total: int) -> None:
        if self.progress is not None:
            word = 'training' if kind == 'train' else 'evaluating'
            self.progress.update(self.task, completed=done, total=total,
                                 description=word)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def run_command(cmd: List[str],
                log_file: Optional[str],
                cwd: str,
                env: Optional[Dict[str, str]] = None,
                max_epochs: Optional[int] = None,
                bar: Optional[bool] = None,
                tail_lines: int = 30) -> None:
    """Run one command, quietly into ``log_file`` or streaming it.

    Args:
        cmd (list[str]): The command.
        log_file (str, optional): Append the command line and its whole
            output (stdout and stderr) here; None streams the output to
            the terminal (the verbose demo).
        cwd (str): Working directory.
        env (dict, optional): Environment of the command.
        max_epochs (int, optional): Epochs of a training command, for the
            progress bar.
        bar (bool, optional): Show a progress bar; default: when stdout is
            a terminal.
        tail_lines (int): Lines of output kept for :class:`StepFailed`.

    Raises:
        StepFailed: The command exited with a non-zero status.
    """
    if log_file is None:
        print('$ ' + ' '.join(cmd), flush=True)
        proc = subprocess.run(cmd, cwd=cwd, env=env)
        if proc.returncode:
            raise StepFailed(cmd, proc.returncode, '(printed above)', [])
        return
    os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
    tail: deque = deque(maxlen=tail_lines)
    progress = _Bar('starting', sys.stdout.isatty() if bar is None else bar)
    try:
        with open(log_file, 'a', encoding='utf-8') as log:
            log.write('$ ' + ' '.join(cmd) + '\n')
            log.flush()
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, errors='replace',
                bufsize=1)
            for line in proc.stdout:
                log.write(line)
                tail.append(line.rstrip('\n'))
                found = parse_progress(line, max_epochs)
                if found:
                    progress.update(*found)
            returncode = proc.wait()
    finally:
        progress.close()
    if returncode:
        raise StepFailed(cmd, returncode, log_file, list(tail))


def failure_report(step: str, err: StepFailed) -> str:
    """The lines printed when a step fails: command, log tail, log path."""
    lines = [f'{step} failed: exit status {err.returncode} of',
             f'  {" ".join(err.cmd)}']
    if err.tail:
        lines.append(f'last {len(err.tail)} lines of its log:')
        lines += ['  ' + line for line in err.tail]
    lines.append(f'full log: {err.log}')
    return '\n'.join(lines)
