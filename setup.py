"""Packaging for mpa_fer_plugin (MPA-FER as an OpenMMLab plugin)."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open(osp.join('mpa_fer_plugin', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def read_readme() -> str:
    with open('README.md', encoding='utf-8') as f:
        return f.read()


setup(
    name='mpa_fer_plugin',
    version=read_version(),
    description='MPA-FER (Multimodal Prompt Alignment for Facial Expression '
    'Recognition, ICCV 2025) as an mmpretrain plugin',
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['mpa_fer_plugin', 'mpa_fer_plugin.*']),
    include_package_data=True,
    package_data={'mpa_fer_plugin': ['prompts/data/*.json',
                                     'webapp/static/*']},
    # Tested ranges; the exact CI set is requirements/ci.txt. mmcv is NOT
    # required here on purpose: `mmcv` and `mmcv-lite` install the same
    # import package, so requiring one would clobber a user's compiled mmcv.
    install_requires=[
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine>=0.10.7,<1.0',
        'mmpretrain>=1.2.0,<1.3',
        'open_clip_torch>=3.3.0,<4.0',
        'openai>=1.0',
        'numpy',
        'matplotlib',
        # mmengine 0.10.7 imports pkg_resources, removed in setuptools 82.
        'setuptools>=77.0.3,<82',
    ],
    extras_require={
        'lite': ['mmcv-lite>=2.0,<2.4'],
        # scikit-image: the real test photograph (data.astronaut).
        'tests': ['pytest', 'ruff', 'scikit-image'],
        # Face detection (mpa_fer_plugin.apis.face): the default Haar
        # detector needs the cascades of OpenCV 4.x (5.0 dropped them).
        # If another package pulls opencv-python-headless, pin it <5 too.
        # yuface (the 'auto' detector's first choice; weights compiled in)
        # has wheels for CPython <= 3.11 on Linux x86_64 and Windows only.
        'face': ['opencv-python>=4.5,<5',
                 'yuface==2023.5.1; python_version < "3.12" and '
                 'platform_machine in "x86_64 AMD64"'],
        'cam': ['grad-cam>=1.5,<1.6'],
        # ONNX export and its onnxruntime check (tools/deployment); torch's
        # TorchScript-based exporter (dynamo=False) needs no onnxscript.
        'export': ['onnx>=1.16', 'onnxruntime>=1.17'],
        # The web page (tools/web_demo.py) is standard library; it needs
        # the face extra's detector. playwright drives Debian's Chromium
        # in its browser test (requirements/web.txt; no browser download).
        'web': ['opencv-python>=4.5,<5', 'playwright>=1.40'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
