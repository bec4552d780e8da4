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
    python_requires='>=3.11',
    packages=find_packages(include=['mpa_fer_plugin', 'mpa_fer_plugin.*']),
    include_package_data=True,
    package_data={'mpa_fer_plugin': ['prompts/data/*.json',
                                     'webapp/static/*']},
    # Tested ranges (docs/compatibility.md): each end of the torch ranges
    # ran the test suite (requirements/torch-min.txt, torch.txt), so an
    # environment with a torch in range (a CUDA 12 build, say) keeps it.
    # The OpenMMLab packages are NOT required by name: upstream (mmengine,
    # mmcv-lite, mmpretrain) and the maintained onedl forks
    # (onedl-mmengine, onedl-mmcv, onedl-mmpretrain) install the same
    # import packages under different names, and requiring one would
    # install it over the other. Pick one with the extras [upstream] or
    # [onedl]; `import mpa_fer_plugin` names both when neither is there,
    # and warns about versions outside the tested ranges.
    install_requires=[
        'torch>=2.13.0,<2.15',
        'torchvision>=0.28.0,<0.30',
        'open_clip_torch>=3.3.0,<4.0',
        'openai>=1.0',
        'numpy',
        'matplotlib',
        # mmcv pulls opencv-python unpinned; 5.x has no Haar cascades.
        'opencv-python>=4.5,<5',
        # upstream mmengine 0.10.7 imports pkg_resources (gone in 82).
        'setuptools>=77.0.3,<82',
    ],
    extras_require={
        'upstream': ['mmengine>=0.10.7,<0.11', 'mmcv-lite>=2.2.0,<2.4',
                     'mmpretrain>=1.2.0,<1.4'],
        'onedl': ['onedl-mmengine>=0.10.12,<0.11',
                  'onedl-mmcv>=2.3.6,<2.4',
                  'onedl-mmpretrain>=1.3.6,<1.4'],
        # mmcv-lite alone (an upstream environment that has the rest).
        'lite': ['mmcv-lite>=2.2.0,<2.4'],
        'tests': ['pytest', 'ruff', 'scikit-image>=0.22'],
        # Face detection ('auto': yuface, else OpenCV 4 Haar, else
        # scikit-image's LBP cascade, docs/compatibility.md). yuface has
        # wheels for CPython <= 3.11 on Linux x86_64 and Windows only.
        'face': ['scikit-image>=0.22',
                 'yuface==2023.5.1; python_version < "3.12" and '
                 'platform_machine in "x86_64 AMD64"'],
        # grad-cam pulls opencv-python-headless unpinned (5.x replaces the
        # cv2 package and drops the Haar cascades).
        'cam': ['grad-cam>=1.5,<1.6', 'opencv-python-headless>=4.5,<5'],
        # ONNX export and its onnxruntime check (tools/deployment); torch's
        # TorchScript-based exporter (dynamo=False) needs no onnxscript.
        'export': ['onnx>=1.16', 'onnxruntime>=1.17'],
        # The web page (tools/web_demo.py) is standard library (with the
        # face extra's detectors); playwright drives Debian's Chromium in
        # its browser test (requirements/web.txt; no browser download).
        'web': ['playwright>=1.40'],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
