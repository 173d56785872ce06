"""Truth catalogue internals: positions (block query, pixel mapping), parameter columns, tables.

The entry points are in `pyimcom.truthcats` (``gen_truthcats_from_cfg``).
"""

from .catalog import table_hdu, truth_table
from .columns import CATALOGUED_FAMILIES, catalogued_layers, drawn_galaxy_shape, layer_columns
from .positions import (
    POSITION_COLUMNS,
    block_objects,
    block_search_radius_rad,
    north_position_angle,
    query_block,
)

__all__ = [
    "CATALOGUED_FAMILIES",
    "POSITION_COLUMNS",
    "block_objects",
    "block_search_radius_rad",
    "catalogued_layers",
    "drawn_galaxy_shape",
    "layer_columns",
    "north_position_angle",
    "query_block",
    "table_hdu",
    "truth_table",
]
