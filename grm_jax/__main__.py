import sys

from grm_jax.cli import main

sys.exit(main())
