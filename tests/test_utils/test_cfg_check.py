"""--cfg-options keys that set something nothing reads are named."""
import subprocess
import sys

from mmengine.config import Config

from mpa_fer_plugin.utils.cfg_check import check_options, warn_unused_options

CFG = dict(
    max_epochs=10,  # a variable of the config file
    train_cfg=dict(by_epoch=True, max_epochs=10),
    env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
    model=dict(type='MPAFERClassifier', head=dict(type='MPAPromptHead',
                                                  num_ctx=4)),
    custom_hooks=[dict(type='EMAHook')],
    train_dataloader=dict(dataset=dict(type='RAFDB', data_root='d')))


def _one(option):
    found = check_options(Config(CFG), {option: 1})
    assert len(found) == 1, found
    return found[0]


def test_top_level_unknown_or_variable_keys_are_named():
    msg = _one('max_epochs')
    assert "'max_epochs' is a variable of the config file" in msg
    assert "did you mean 'train_cfg.max_epochs'?" in msg
    msg = _one('work_dirr')
    assert "no top-level key 'work_dirr'" in msg
    assert "did you mean 'work_dir'?" in msg
    # keys the Runner reads are fine even when the config lacks them
    assert check_options(Config(CFG), {'work_dir': 'x', 'load_from': 'y',
                                       'resume': True}) == []


def test_nested_unknown_keys_get_a_close_match():
    msg = _one('env_cfg.cudnn_benchmrk')
    assert msg == ("--cfg-options env_cfg.cudnn_benchmrk: env_cfg has no "
                   "key 'cudnn_benchmrk', so this option is probably "
                   "ignored; did you mean 'cudnn_benchmark'?")
    msg = _one('optim_wrapper.optimizer.lrr')
    assert 'SGD takes no such argument' in msg and "'lr'?" in msg
    msg = _one('train_dataloader.dataset.data_rot')
    assert 'RAFDB takes no such argument' in msg and "'data_root'?" in msg
    assert 'is a list of 1 items' in _one('custom_hooks.3.momentum')
    assert 'is a int (4), not a dict' in _one('model.head.num_ctx.x')


def test_known_keys_and_constructor_arguments_pass():
    options = {'train_cfg.max_epochs': 2, 'env_cfg.cudnn_benchmark': True,
               'optim_wrapper.optimizer.lr': 0.1,
               # SGD takes weight_decay although the config lacks it
               'optim_wrapper.optimizer.weight_decay': 1e-4,
               # an argument of RAFDB's base class (through **kwargs)
               'train_dataloader.dataset.test_mode': False,
               'custom_hooks.0.momentum': 0.1,
               'model.head.num_ctx': 8}
    assert check_options(Config(CFG), options) == []


def test_warning_goes_to_stderr_and_train_tool_prints_it(tmp_path,
                                                         capsys):
    path = tmp_path / 'c.py'
    Config(CFG).dump(str(path))
    assert warn_unused_options(str(path), None) == []
    warn_unused_options(str(path), {'env_cfg.cudnn_benchmrk': 1},
                        where='run x')
    err = capsys.readouterr().err
    assert err.startswith('WARNING: --cfg-options env_cfg.cudnn_benchmrk')
    assert err.rstrip().endswith('(run x)')
    # tools/train.py and tools/test.py call it before merging (one
    # process: the parse step only)
    code = ('import sys; sys.argv = ["x"]; sys.path.insert(0, "tools");'
            'import train, test; from mmengine.config import Config;'
            f'cfg = Config.fromfile({str(path)!r});'
            'a = train.parse_args([%r, "--cfg-options", "max_epochs=2"]);'
            'train.merge_args(cfg, a);'
            'cfg = Config.fromfile(%r);'
            'b = test.parse_args([%r, "none", "--cfg-options",'
            '"env_cfg.cudnn_benchmrk=1"]);'
            'test.merge_args(cfg, b)' % (str(path), str(path), str(path)))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "WARNING: --cfg-options max_epochs: 'max_epochs' is a variable" \
        in out.stderr
    assert "did you mean 'cudnn_benchmark'?" in out.stderr
