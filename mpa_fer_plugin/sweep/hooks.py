"""The final test of a sweep run, inside the ``tools/train.py`` process."""
import json
import os
import os.path as osp
import re
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS


def to_builtin(obj):
    """Tensors and arrays (e.g. a confusion matrix) to lists for JSON."""
    if isinstance(obj, dict):
        return {str(k): to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_builtin(v) for v in obj]
    if hasattr(obj, 'tolist'):
        return obj.tolist()
    return obj


def write_json_atomic(path: str, data: dict) -> None:
    """Write JSON through a temporary file, so a kill leaves no half file."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


@HOOKS.register_module()
class SweepFinalTestHook(Hook):
    """After training, test the selected checkpoint and write the result.

    Saves a second process per run: the test loop of the same runner runs
    once training has finished, on the checkpoint chosen by ``selection``:

    * ``'last'``: the model after the last epoch;
    * ``'val'`` / ``'test'``: the best checkpoint kept by mmengine's
      ``CheckpointHook(save_best=metric)`` on the validation loader (a
      split held out from train, or the test split itself), loaded back
      before testing.

    The metrics, the selection and the chosen epoch go to ``out_file``
    (relative to the work dir), written last and atomically: its presence
    marks a finished run.

    Args:
        out_file (str): Result file. Defaults to ``'sweep_result.json'``.
        selection (str): ``'last'``, ``'val'`` or ``'test'``.
        metric (str): The validation metric of the selection.
    """

    priority = 'LOWEST'

    def __init__(self, out_file: str = 'sweep_result.json',
                 selection: str = 'last',
                 metric: str = 'accuracy/top1') -> None:
        if selection not in ('last', 'val', 'test'):
            raise ValueError(f'selection {selection!r} must be last, val or '
                             'test')
        self.out_file = out_file
        self.selection = selection
        self.metric = metric

    def _best_checkpoint(self, runner) -> Optional[str]:
        path = runner.message_hub.get_info('best_ckpt')
        if path is None:
            for hook in runner.hooks:
                path = getattr(hook, 'best_ckpt_path', None) or path
        return path

    def after_train(self, runner) -> None:
        """Load the selected checkpoint, run the test loop, write JSON."""
        epoch = runner.epoch
        checkpoint = osp.join(runner.work_dir, f'epoch_{epoch}.pth')
        best_score = None
        if self.selection != 'last':
            path = self._best_checkpoint(runner)
            if path is None or not osp.isfile(path):
                raise RuntimeError(
                    f'selection={self.selection!r}: no best checkpoint on '
                    f'{self.metric} was saved (is validation running? '
                    f'best_ckpt={path!r})')
            runner.load_checkpoint(path)
            match = re.search(r'epoch_(\d+)', osp.basename(path))
            epoch = int(match.group(1)) if match else None
            checkpoint = path
            best_score = runner.message_hub.get_info('best_score')
        print_log(f'SweepFinalTestHook: testing the {self.selection} '
                  f'checkpoint (epoch {epoch}): {checkpoint}',
                  logger='current')
        metrics = runner.test_loop.run()
        if is_main_process():
            write_json_atomic(
                osp.join(runner.work_dir, self.out_file),
                dict(metrics=to_builtin(dict(metrics)),
                     selection=self.selection, chosen_epoch=epoch,
                     max_epochs=runner.max_epochs, checkpoint=checkpoint,
                     selection_metric=self.metric,
                     best_val_score=to_builtin(best_score),
                     protocol=to_builtin(
                         runner.message_hub.get_info('eval_classes'))))
