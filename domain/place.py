"""Where a problem is on the map: a latitude and a longitude (WGS 84 degrees)."""

from __future__ import annotations

from domain.base import Refused, field_label


def check_place(latitude: float | None, longitude: float | None
                ) -> tuple[float | None, float | None]:
    """A place on the map: both coordinates or neither, in range (degrees, WGS 84)."""
    if (latitude is None) != (longitude is None):
        raise Refused("纬度和经度须同时给出，收到纬度 {latitude!r}、经度 {longitude!r}",
                      latitude=latitude, longitude=longitude)
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if value is not None and not (isinstance(value, (int, float))
                                      and not isinstance(value, bool)
                                      and -bound <= value <= bound):
            raise Refused("{name}须为 -{bound} 到 {bound} 之间的数，收到 {value!r}",
                          name=field_label(name), bound=bound, value=value)
    return (None if latitude is None else float(latitude),
            None if longitude is None else float(longitude))
