"""tools/analysis_tools/get_flops.py: thin CLI over utils.flops."""
import pytest
from tool_loader import load_tool

get_flops = load_tool('analysis_tools/get_flops.py')


def test_prints_flops_at_the_config_size(small_world, capsys):
    res = get_flops.main([small_world['config'], '--shape', '64'])
    out = capsys.readouterr().out
    assert 'input shape:       3x64x64' in out
    assert f'{res["flops"] / 1e9:.3f} G' in out
    with pytest.raises(SystemExit):
        get_flops.parse_args([small_world['config'], '--shape', '1', '2',
                              '3'])
