"""Model instances from hand-written SQL, for the few statements every labeling request runs.

Building a query with the ORM costs about a millisecond of CPU (filters resolved, joins set up, SQL
compiled) where running it costs a tenth of that; on the hot paths (token check, /next, submit,
progress), each run by every annotator several times a second, that compile time was most of the
server's CPU. Those statements are written once as SQL here and in their services; ``ModelRows``
names a model's columns for them and turns a row's share back into an instance exactly as the ORM
would: the same database converters (SQLite's text timestamps and integer booleans, JSON decoding)
and ``Model.from_db``, so the instance is indistinguishable from one a queryset returns.

The SQL is plain enough for both databases (double-quoted names, ``%s`` parameters); datetimes
passed as parameters go through ``db_datetime`` as the ORM would adapt them.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from tessera import prepared

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]


def db_datetime(value: datetime) -> Any:
    """A datetime as a parameter of hand-written SQL, adapted as the ORM adapts a DateTimeField's
    value (SQLite stores naive UTC text: an aware value's ``+00:00`` would compare wrongly)."""
    return connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value(value)


class ModelRows(Generic[M]):
    """``columns(alias)`` for a SELECT list; ``build(row, start)`` for the instance from those columns.

    ``fields`` limits the columns (the rest are deferred, as with ``.only()``); by default every
    concrete field is read.
    """

    def __init__(self, model: type[M], fields: Sequence[str] | None = None):
        self.model = model
        concrete = list(model._meta.concrete_fields)
        if fields is not None:
            wanted = set(fields) | {"id"}
            # from_db takes the values in the model's own field order.
            concrete = [field for field in concrete if field.name in wanted or field.attname in wanted]
        self.fields: list[Field] = concrete
        self.attnames = [field.attname for field in concrete]
        self.width = len(concrete)
        self._insert_sql: str | None = None
        self._converters: WeakKeyDictionary[BaseDatabaseWrapper, list[tuple[int, Any, list[Converter]]]] = (
            WeakKeyDictionary()
        )

    def columns(self, alias: str) -> str:
        return ", ".join(f'{alias}."{field.column}"' for field in self.fields)

    def _converters_for(self, connection: BaseDatabaseWrapper) -> list[tuple[int, Any, list[Converter]]]:
        known = self._converters.get(connection)
        if known is None:
            known = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if converters:
                    known.append((index, column, converters))
            self._converters[connection] = known
        return known

    def insert(self, instance: M) -> M:
        """INSERT a new instance, as ``save()`` would write it (each field's ``pre_save``, such as
        ``auto_now_add``, and its adaptation to the database, such as JSON), and set its id.

        For models whose saves nothing listens to (no signal receivers, no ``save()`` override)."""
        if self.width != len(self.model._meta.concrete_fields):
            raise TypeError("insert needs every column: make these ModelRows without fields=.")
        connection = connections[DEFAULT_DB_ALIAS]
        fields = [field for field in self.fields if not field.primary_key]
        returning = connection.features.can_return_columns_from_insert
        if self._insert_sql is None:
            table = self.model._meta.db_table
            names = ", ".join(f'"{field.column}"' for field in fields)
            placeholders = ", ".join(["%s"] * len(fields))
            self._insert_sql = f'INSERT INTO "{table}" ({names}) VALUES ({placeholders})'
        sql = self._insert_sql + (f' RETURNING "{self.model._meta.pk.column}"' if returning else "")
        values = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
        with connection.cursor() as cursor:
            prepared.execute(cursor, "insert", sql, values)
            instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
        instance._state.adding = False
        instance._state.db = connection.alias
        return instance

    def build(self, row: Sequence[Any], start: int = 0) -> M:
        # The thread's own connection (``django.db.connection`` is a proxy shared by all threads).
        connection = connections[DEFAULT_DB_ALIAS]
        values = list(row[start : start + self.width])
        for index, column, converters in self._converters_for(connection):
            value = values[index]
            for converter in converters:
                value = converter(value, column, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)
