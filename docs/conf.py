"""Sphinx configuration of the mpa_fer_plugin documentation.

Sphinx with MyST (Markdown pages), the convention of OpenMMLab projects;
``make docs`` builds it with warnings as errors (``-W --keep-going``).
The API reference imports the installed package (no mocked modules).

Links: MyST reports a missing page or heading anchor as a warning. A
relative link to a repository file outside ``docs/`` (for example
``../configs/mpa_fer_rafdb.py``) is turned into a download link before
parsing, so a missing file is a warning (an error under ``-W``) too.
"""
import os
import os.path as osp
import re
import sys

DOCS = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(DOCS)
sys.path.insert(0, ROOT)

import mpa_fer_plugin  # noqa: E402

project = 'mpa_fer_plugin'
author = 'mpa_fer_plugin contributors'
copyright = '2025-2026, ' + author
version = release = mpa_fer_plugin.__version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.mathjax',
]
source_suffix = {'.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']

myst_enable_extensions = ['dollarmath', 'colon_fence']
myst_heading_anchors = 3

autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_default_options = {'members': True, 'show-inheritance': False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = 'alabaster'
html_title = 'mpa_fer_plugin'
html_static_path = []

#: Markdown links ``[text](target)`` whose target is a relative path.
_LINK = re.compile(r'(\]\()(?!https?:|mailto:|#|path:)([^)\s#]+)(#[^)\s]*)?\)')


def _repository_links(app, docname, source):
    """Turn links to repository files outside docs/ into download links."""
    here = osp.dirname(osp.join(DOCS, docname))

    def rewrite(match):
        target = match.group(2)
        resolved = osp.normpath(osp.join(here, target))
        if resolved.startswith(DOCS + os.sep) or resolved == DOCS:
            return match.group(0)  # a page or picture: MyST checks it
        return f'{match.group(1)}path:{target})'

    source[0] = _LINK.sub(rewrite, source[0])


def setup(app):
    app.connect('source-read', _repository_links)
