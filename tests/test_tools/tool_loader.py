"""Import a script of tools/ as a module (the folder is not a package)."""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(relpath: str):
    """Load ``tools/<relpath>`` as a fresh module object."""
    path = osp.join(ROOT, 'tools', relpath)
    name = 'tool_' + relpath.replace('/', '_').replace('.py', '')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
