"""Where a problem is on the map: a latitude and a longitude (WGS 84 degrees)."""

from __future__ import annotations

from domain.base import Refused


def check_place(latitude: float | None, longitude: float | None
                ) -> tuple[float | None, float | None]:
    """A place on the map: both coordinates or neither, in range (degrees, WGS 84)."""
    if (latitude is None) != (longitude is None):
        raise Refused(f"latitude and longitude go together, got latitude {latitude!r} and "
                      f"longitude {longitude!r}")
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if value is not None and not (isinstance(value, (int, float))
                                      and not isinstance(value, bool)
                                      and -bound <= value <= bound):
            raise Refused(f"{name} must be a number from -{bound} to {bound}, got {value!r}")
    return (None if latitude is None else float(latitude),
            None if longitude is None else float(longitude))
