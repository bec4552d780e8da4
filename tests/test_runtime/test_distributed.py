"""Distributed correctness on CPU: 2 gloo ranks against 1 process.

One single-process run and one 2-process torchrun of ``dist_checks.py``
(see its docstring) produce every tensor compared here: prototypes
(offline tool and hook, with an odd number of training images), prompts
after 2 optimisation steps (2 ranks x batch 4 against 1 process x batch 8),
buffers and text features on every rank, resumed against uninterrupted
runs, and test metrics of the same checkpoint.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from tool_runner import ROOT, free_port, run_tool

PY = sys.executable
SCRIPT = osp.join(osp.dirname(osp.abspath(__file__)), 'dist_checks.py')
TRAINABLE = {'backbone.prompts', 'head.prompt_learner.ctx'}


@pytest.fixture(scope='module')
def runs(small_world, tmp_path_factory):
    """``(single, [rank0, rank1])`` result dicts of the two launches."""
    single_dir = tmp_path_factory.mktemp('single')
    ddp_dir = tmp_path_factory.mktemp('ddp')
    env = dict(OMP_NUM_THREADS='1')
    run_tool([PY, SCRIPT, small_world['config'], str(single_dir)], env=env)
    run_tool([PY, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
              '--master_addr', '127.0.0.1', '--master_port',
              str(free_port()), SCRIPT, small_world['config'], str(ddp_dir),
              '--launcher', 'pytorch', '--ref', str(single_dir)], env=env)

    def load(folder, rank):
        return torch.load(osp.join(folder, f'rank{rank}.pt'),
                          weights_only=False)

    single = load(single_dir, 0)
    ranks = [load(ddp_dir, 0), load(ddp_dir, 1)]
    assert single['world_size'] == 1
    assert [r['world_size'] for r in ranks] == [2, 2]
    assert [r['rank'] for r in ranks] == [0, 1]
    return single, ranks


def test_prototypes_two_ranks_equal_one_process(runs):
    single, ranks = runs
    expected, is_set = single['prototypes']
    assert is_set
    # 27 images: the shards hold 14 and 13, none counted twice.
    for res in (single, ranks[0]):
        assert res['cache_meta'][0]['num_images'] == 27
        assert sum(res['cache_meta'][0]['counts']) == 27
    for res in ranks:
        protos, is_set = res['prototypes']
        assert is_set
        torch.testing.assert_close(protos, expected, rtol=1e-6, atol=1e-6)
    assert torch.equal(ranks[0]['prototypes'][0], ranks[1]['prototypes'][0])
    # Same inputs, same cache key, whatever the number of processes.
    assert single['cache_keys'] == ranks[0]['cache_keys'] == \
        ranks[1]['cache_keys']
    assert len(single['cache_keys']) == 1


def test_offline_tool_writes_what_training_uses(runs):
    single, ranks = runs
    # Single process: the tool wrote the cache file, training loaded it
    # without rewriting it.
    assert single['cache_before'] == single['cache_after']
    assert list(single['cache_before']) == [single['tool_file']]
    torch.testing.assert_close(single['tool_protos'],
                               single['prototypes'][0], rtol=0, atol=0)
    # 2 ranks: the tool (sharded) equals the hook's computation.
    assert ranks[0]['tool_file'].endswith('tool.pt')
    assert ranks[1]['tool_file'] is None and 'tool_protos' not in ranks[1]
    assert ranks[0]['cache_before'] == {}
    torch.testing.assert_close(ranks[0]['tool_protos'],
                               ranks[0]['prototypes'][0], rtol=0, atol=0)


def test_two_ranks_step_equals_double_batch(runs):
    single, ranks = runs
    for res in (single, *ranks):
        assert set(res['prompts_full']) == TRAINABLE
    for name in TRAINABLE:
        init = single['prompts_init'][name]
        expected = single['prompts_full'][name]
        update = (expected - init).norm()
        assert update > 1e-2  # the steps moved the prompts
        for res in ranks:
            torch.testing.assert_close(res['prompts_init'][name], init,
                                       rtol=0, atol=0)
            got = res['prompts_full'][name]
            torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
            assert (got - expected).norm() < 1e-4 * update, name
        assert torch.equal(ranks[0]['prompts_full'][name],
                           ranks[1]['prompts_full'][name])


def test_buffers_identical_on_every_rank(runs):
    single, ranks = runs
    names = set(single['buffers'])
    assert {'text_features', 'head.hard_prompts.text_feats',
            'head.hard_prompts.token_feats',
            'head.prompt_learner.token_embeds'} <= names
    for name in names:
        assert torch.equal(ranks[0]['buffers'][name],
                           ranks[1]['buffers'][name]), name
        torch.testing.assert_close(ranks[0]['buffers'][name],
                                   single['buffers'][name], rtol=1e-6,
                                   atol=1e-6)


def test_resume_equals_uninterrupted(runs):
    single, ranks = runs
    for res in (single, *ranks):
        # The resumed runner took the prototypes from the checkpoint: its
        # (empty) cache folder was never created.
        assert not res['unused_cache_exists']
        torch.testing.assert_close(res['prototypes_resumed'][0],
                                   res['prototypes'][0], rtol=0, atol=0)
        torch.testing.assert_close(res['prototypes_cached'][0],
                                   res['prototypes'][0], rtol=0, atol=0)
        for name in TRAINABLE:
            torch.testing.assert_close(res['prompts_resumed'][name],
                                       res['prompts_full'][name], rtol=0,
                                       atol=0)
    assert_same_metrics(single['metrics_resumed'], single['metrics_full'])


def assert_same_metrics(got, expected):
    assert set(got) == set(expected)
    assert 'accuracy/top1' in got and 'confusion_matrix/result' in got
    for key, value in expected.items():
        torch.testing.assert_close(torch.as_tensor(got[key]),
                                   torch.as_tensor(value), rtol=1e-6,
                                   atol=1e-6, msg=key)


def test_metrics_two_ranks_equal_one_process(runs, small_world):
    single, ranks = runs
    confusion = single['metrics_full']['confusion_matrix/result']
    assert int(confusion.sum()) == small_world['num_test']
    for res in ranks:  # the same checkpoint, evaluated on 2 ranks
        assert_same_metrics(res['metrics_ref_ckpt'], single['metrics_full'])


def fake_command(folder, name):
    """An executable that prints its arguments and MASTER_PORT."""
    path = folder / name
    path.write_text('#!/usr/bin/env bash\n'
                    'for a in "$@"; do echo "ARG $a"; done\n'
                    'echo "MASTER_PORT ${MASTER_PORT:-unset}"\n')
    path.chmod(0o755)
    return str(path)


def launch_args(args, env):
    proc = subprocess.run(['bash', *args], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, **env),
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    return ([ln[4:] for ln in lines if ln.startswith('ARG ')],
            lines[-1].split()[-1])


def test_dist_scripts_pass_multi_node_settings(tmp_path):
    env = dict(PYTHON=fake_command(tmp_path, 'python'), NNODES='2',
               NODE_RANK='1', MASTER_ADDR='10.1.2.3', PORT='29555')
    args, _ = launch_args(['tools/dist_train.sh', 'cfg.py', '8',
                           '--resume'], env)
    assert args[:2] == ['-m', 'torch.distributed.run']
    assert {'--nnodes=2', '--node_rank=1', '--master_addr=10.1.2.3',
            '--nproc_per_node=8', '--master_port=29555'} <= set(args)
    assert args[-5:] == [osp.join(ROOT, 'tools', 'train.py'), 'cfg.py',
                         '--launcher', 'pytorch', '--resume']
    args, _ = launch_args(['tools/dist_test.sh', 'cfg.py', 'c.pth', '4'],
                          env)
    assert args[-5:] == [osp.join(ROOT, 'tools', 'test.py'), 'cfg.py',
                         'c.pth', '--launcher', 'pytorch']
    assert '--nproc_per_node=4' in args


def test_slurm_scripts_build_the_srun_command(tmp_path):
    fake_command(tmp_path, 'srun')
    env = dict(PATH=f'{tmp_path}:{os.environ["PATH"]}', GPUS='4',
               GPUS_PER_NODE='8', CPUS_PER_TASK='3', PORT='29777',
               SRUN_ARGS='--qos=low --time=1:00:00', PYTHON='py')
    args, port = launch_args(['tools/slurm_train.sh', 'part', 'job',
                              'cfg.py', 'work', '--amp'], env)
    assert port == '29777'
    assert args[:2] == ['-p', 'part']
    assert {'--job-name=job', '--gres=gpu:4', '--ntasks=4',
            '--ntasks-per-node=4', '--cpus-per-task=3',
            '--qos=low', '--time=1:00:00'} <= set(args)
    assert args[-7:] == ['py', '-u', osp.join(ROOT, 'tools', 'train.py'),
                         'cfg.py', '--work-dir=work', '--launcher=slurm',
                         '--amp']
    env.update(GPUS='16', PORT='')
    args, port = launch_args(['tools/slurm_test.sh', 'part', 'job',
                              'cfg.py', 'c.pth'], env)
    assert port == 'unset'
    assert {'--ntasks=16', '--ntasks-per-node=8', '--gres=gpu:8'} <= \
        set(args)
    assert args[-4:] == [osp.join(ROOT, 'tools', 'test.py'), 'cfg.py',
                         'c.pth', '--launcher=slurm']


def test_scripts_use_the_venv_python_unless_python_is_set(tmp_path):
    """dist_*.sh / slurm_*.sh source launch_common.sh, which picks
    $PYTHON, else <repo>/.venv/bin/python, else python3."""
    import shutil
    tools = tmp_path / 'repo' / 'tools'
    tools.mkdir(parents=True)
    for name in ('launch_common.sh', 'dist_train.sh', 'slurm_test.sh'):
        shutil.copy(osp.join(ROOT, 'tools', name), tools / name)
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake_command(bin_dir, 'python3')
    fake_command(bin_dir, 'srun')
    env = dict(PATH=f'{bin_dir}:{os.environ["PATH"]}', PYTHON='')

    def first_line(script, *args):
        proc = subprocess.run(['bash', str(tools / script), *args],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, **env))
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()

    # No .venv: python3 from PATH runs torchrun.
    assert first_line('dist_train.sh', 'c.py', '2')[0] == \
        'ARG -m'
    venv_bin = tmp_path / 'repo' / '.venv' / 'bin'
    venv_bin.mkdir(parents=True)
    venv_python = fake_command(venv_bin, 'python')
    (venv_bin / 'python').write_text(
        '#!/usr/bin/env bash\necho "VENV $*"\n')
    out = first_line('dist_train.sh', 'c.py', '2')
    assert out[0].startswith('VENV -m torch.distributed.run')
    assert out[0].endswith('c.py --launcher pytorch')
    # slurm: srun receives the venv python as the program.
    args = [ln[4:] for ln in first_line('slurm_test.sh', 'p', 'j', 'c.py',
                                        'k.pth') if ln.startswith('ARG ')]
    assert osp.normpath(args[args.index('-u') - 1]) == venv_python
    env['PYTHON'] = 'custom-python'
    args = [ln[4:] for ln in first_line('slurm_test.sh', 'p', 'j', 'c.py',
                                        'k.pth') if ln.startswith('ARG ')]
    assert args[args.index('-u') - 1] == 'custom-python'
