"""The portable (integer) entropy path: what makes a .grm file decode to the same symbols on any machine.

  exact.py         integer arithmetic every machine computes to the same bits, and a summation simulator for tests
  entropy_path.py  h_s and the entropy parameters of y in that arithmetic (the float model's twin)
  conversion.py    a trained float model's entropy path as the integer parameters entropy_path.py runs on

It sits between the models (whose float path it mirrors) and the codec (which runs it behind the same interface
as the float path: codec/entropy_paths.py).
"""
