"""Dependencies flow one way: each part of the package imports only parts below it (docs/implementation.md,
Layout), imports inside functions included. codec/ and training/ stand side by side: neither imports the other."""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'grm_jax'
# A part may import the parts of a lower rank only.
RANK = {
    'errors': 0, 'configs': 0, 'metrics': 0,
    'outputs': 1, 'config_io': 1, 'bd': 1, 'rd_lambda': 1, 'model_hashes': 1, 'compile_cache': 1,
    'image_io': 2, 'plot': 2, 'zoo': 2,
    'layers': 3,
    'entropy_models': 4,
    'losses': 5, 'models': 5,
    'portable': 6,
    'codec': 7, 'training': 7, 'evaluation': 7,
    'diagnostics': 8,
    'cli': 9, '__init__': 9,
    '__main__': 10,
}


def _imports(path):
  """The parts of grm_jax a module imports, anywhere in it."""
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split('.')[0] == 'grm_jax':
      names = [f'grm_jax.{alias.name}' for alias in node.names] if node.module == 'grm_jax' else [node.module]
    elif isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    else:
      continue
    for name in names:
      parts = name.split('.')
      if parts[0] == 'grm_jax' and len(parts) > 1:
        yield parts[1]


def test_every_part_imports_only_parts_below_it():
  upward = []
  for path in sorted(PACKAGE.rglob('*.py')):
    relative = path.relative_to(PACKAGE)
    part = relative.parts[0] if len(relative.parts) > 1 else relative.stem
    assert part in RANK, f"{relative}: a new part of the package; give it a rank here and in docs/implementation.md"
    upward += [f"{relative} imports {target}" for target in set(_imports(path))
               if target != part and RANK.get(target, 99) >= RANK[part]]
  assert not upward, upward
