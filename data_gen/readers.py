"""Readers a data folder's ``preprocess.json`` may name, registered in ``utils.registry.READERS``.

A reader turns one raw clip into one row of a generated dataset: ``reader(path, **options)``. Each
is registered next to its definition under the dotted name that generators record (for example
``data_gen.ntu_gendata.read_sample``); importing this module registers them all. Readers only read.
"""

from data_gen import custom_gendata, kinetics_gendata, ntu_gendata, openpose_to_kinetics, ucla_gendata  # noqa: F401
