"""The sweep CLI's option check: each option that sets nothing, once."""
from sweep_helpers import write_sweep

from mpa_fer_plugin.sweep.cli import check_options
from mpa_fer_plugin.sweep.spec import load_sweep


def test_options_that_set_nothing_are_named_once_with_their_rows(
        sweep_world, tmp_path, capsys):
    extra = ("cfg_options = {'env_cfg.cudnn_benchmrk': True,\n"
             "               'train_cfg.max_epoch': 2}\n")
    path = write_sweep(tmp_path / 's.py', sweep_world, tmp_path / 'w',
                       extra=extra)
    lines = check_options(load_sweep(path))
    assert len(lines) == 2, lines
    assert lines[0].startswith('WARNING: --cfg-options '
                               'env_cfg.cudnn_benchmrk: env_cfg has no key')
    assert lines[0].endswith("(sweep rows 'A', 'zs')")
    # a training option is not checked on the test-only row
    assert "train_cfg.max_epoch: train_cfg has no key 'max_epoch'" in \
        lines[1] and "did you mean 'max_epochs'?" in lines[1]
    assert lines[1].endswith("(sweep row 'A')")
    assert capsys.readouterr().err.splitlines() == lines
    assert check_options(load_sweep(path), only=['zs']) == [
        lines[0].replace("rows 'A', 'zs'", "row 'zs'")]
