"""vireid: a reproducible study of *Visible-Infrared Person Re-Identification via Feature Fusion and
Deep Mutual Learning* (Lin & Wang, ACML 2024).

The package is thin on purpose; one module per concept (see ``../shared/STYLE.md``)::

    config       typed experiment configuration and named profiles (smoke / cpu / paper)
    data/        the embedded synthetic dataset, SYSU-MM01 and RegDB readers, cache, identity sampler
    transforms   RCC, CRE, random erasing, crop, flip, normalisation: batched tensor ops
    evaluation   SYSU-MM01 and RegDB protocols; CMC, mAP, mINP
    viz/         figures
    notebooks    the notebook registry, the papermill runner behind `make reproduce`, start() (every notebook's
                 first call: checks its parameters, says where its outputs go)
    report       results/README.md and the HTML pages, from the registry it is given

Importing the package does not import torch; submodules that need it import it themselves.
"""

__version__ = "0.1.0"
