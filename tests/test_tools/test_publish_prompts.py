"""tools/publish_prompts.py: arguments (publishing itself is tested in
tests/test_apis/test_model_zoo.py)."""
import pytest
from tool_loader import load_tool

tool = load_tool('publish_prompts.py')


def test_arguments(tmp_path):
    with pytest.raises(SystemExit):
        tool.parse_args([])  # nothing to do
    with pytest.raises(SystemExit):
        tool.parse_args(['ckpt.pth'])  # a checkpoint needs a name
    args = tool.parse_args(['ckpt.pth', 'name', '--out-dir', 'work_dirs/x'])
    assert (args.checkpoint, args.name) == ('ckpt.pth', 'name')
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tool.main([str(tmp_path / 'missing.pth'), 'name'])
    with pytest.raises(ValueError, match='without slashes'):
        tool.main([__file__, 'a/b', '--out-dir', str(tmp_path)])
