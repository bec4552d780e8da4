"""Helpers of the sweep tests (a module name of its own, so that test
modules import it whatever other ``conftest`` modules are loaded)."""
import os.path as osp


def write_sweep(path, world, work_dir, rows=None, extra=''):
    """Write a sweep file on the tiny world; return its path as str.

    ``rows`` is the Python text of the rows list (default: one trained
    row ``A`` and one test-only row ``zs``).
    """
    data = world['data_root']
    opts = {f'{k}_dataloader.dataset.data_root': data
            for k in ('train', 'val', 'test')}
    rows = rows or (f"[dict(name='A', config={world['config']!r}),\n"
                    f" dict(name='zs', config={world['config']!r}, "
                    'train=False)]')
    text = f"""
work_dir = {str(work_dir)!r}
seeds = [0]
selection = 'last'
reference = 'A'
threads = 1
metrics = dict(WAR='accuracy/top1', UAR='single-label/recall')
datasets = dict(tiny=dict(cfg_options={opts!r}))
rows = {rows}
""" + extra
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


class FakeTools:
    """Stands in for the tools' subprocess in ``runner.subprocess.run``.

    Writes the result file a real run writes, with a WAR computed from the
    run's config (``1000 * lr``), so that a test sees which definition a
    number came from. ``calls`` lists the work dirs run.
    """

    def __init__(self):
        self.calls = []

    def __call__(self, cmd, cwd=None, env=None, stdout=None, stderr=None,
                 **kw):
        import json
        import subprocess

        from mmengine.config import Config
        work_dir = cmd[cmd.index('--work-dir') + 1]
        self.calls.append(osp.basename(work_dir))
        cfg = Config.fromfile(cmd[cmd.index('--work-dir') - 1 - (
            0 if '--resume' in cmd else 1)])
        war = 1000 * cfg.optim_wrapper.optimizer.lr
        metrics = {'accuracy/top1': war, 'single-label/recall': war / 2}
        if '--resume' in cmd:
            name, data = 'sweep_result.json', dict(
                metrics=metrics, selection='last', chosen_epoch=1,
                max_epochs=1, checkpoint=None)
        else:
            name, data = 'test_metrics.json', metrics
        with open(osp.join(work_dir, name), 'w') as f:
            json.dump(data, f)
        return subprocess.CompletedProcess(cmd, 0)
