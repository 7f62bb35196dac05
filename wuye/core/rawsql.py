"""Hand-written SQL for the few hot paths where the ORM's per-statement cost matters (creating a work order is the one
every owner's report goes through). The column lists and values come from the models' own field machinery, so a new
field with a default needs no change here."""

import functools
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Field, JSONField, Model
from django.db.models.expressions import Col


@dataclass
class InsertParts:
    """One row of an `INSERT INTO table (columns) SELECT values …`: columns and value expressions in the model's
    field order, and the parameters of the expressions."""

    table: str
    columns: str
    values: str
    params: list = field(default_factory=list)


# Constants written into the statement instead of bound: the statement text then depends only on which fields are
# empty, so the driver's cache of parsed statements (at most 50 parameters each) keeps hitting. Only these fixed
# values are ever inlined; everything a user typed is bound.
def _inlined(value) -> str | None:
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if (kind is int and value == 0) or (kind is str and value == ""):
        return repr(value)
    return None


@functools.cache
def _plan(model: type[Model], vendor: str) -> tuple[tuple[str, str, Field, bool, bool], ...]:
    """Per model: (attname, quoted column, field, filled by pre_save, adapted by get_db_prep_save) of each column."""
    quote = connection.ops.quote_name
    return tuple(
        (
            model_field.attname,
            quote(model_field.column),
            model_field,
            bool(getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)),
            isinstance(model_field, JSONField),
        )
        for model_field in model._meta.concrete_fields
        if not model_field.primary_key
    )


def insert_parts(obj: Model, computed: dict[str, tuple[str, list]] | None = None) -> InsertParts:
    """The columns and values of an unsaved instance, as Model.save would write them (`pre_save` fills auto_now
    fields, JSON is adapted by its field). `computed` maps an attname to an SQL expression and its parameters, for
    values the statement computes itself (an id returned by an earlier part of a WITH query, a counter)."""
    computed = computed or {}
    columns, values, params = [], [], []
    for attname, column, model_field, pre_saved, prepared in _plan(type(obj), connection.vendor):
        columns.append(column)
        if attname in computed:
            expression, expression_params = computed[attname]
            values.append(expression)
            params.extend(expression_params)
            continue
        value = model_field.pre_save(obj, True) if pre_saved else getattr(obj, attname)
        if prepared:
            value = model_field.get_db_prep_save(value, connection)
        elif (literal := _inlined(value)) is not None:
            values.append(literal)
            continue
        values.append("%s")
        params.append(value)
    table = connection.ops.quote_name(type(obj)._meta.db_table)
    return InsertParts(table, ", ".join(columns), ", ".join(values), params)


def mark_saved(obj: Model, pk) -> None:
    """An instance written by hand-written SQL becomes what Model.save leaves behind: its key set, no longer adding."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


@functools.cache
def _read_plan(model: type[Model], vendor: str) -> tuple[list[str], list[str], list[tuple[Col, tuple]]]:
    """Per model: attnames, quoted columns, and for each column the converters the ORM would apply to its value
    (SQLite's text times become aware datetimes, its 0/1 booleans, decimals…)."""
    quote = connection.ops.quote_name
    attnames, columns, conversions = [], [], []
    for model_field in model._meta.concrete_fields:
        column = Col(model._meta.db_table, model_field)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        attnames.append(model_field.attname)
        columns.append(quote(model_field.column))
        conversions.append((column, tuple(converters)))
    return attnames, columns, conversions


def select_list(model: type[Model], alias: str) -> str:
    """The columns of a model under a table alias, in the order `instance_from_row` reads them."""
    return ", ".join(f"{alias}.{column}" for column in _read_plan(model, connection.vendor)[1])


def instance_from_row(model: type[Model], row, offset: int = 0) -> tuple[Model, int]:
    """The instance a row holds from `offset` on (as the ORM would build it), and the offset after its columns."""
    attnames, _columns, conversions = _read_plan(model, connection.vendor)
    values = []
    for index, (column, converters) in enumerate(conversions):
        value = row[offset + index]
        for converter in converters:
            value = converter(value, column, connection)
        values.append(value)
    return model.from_db(connection.alias, attnames, values), offset + len(attnames)
