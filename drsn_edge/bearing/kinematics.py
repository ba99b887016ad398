"""A rolling-element bearing's kinematics: geometry, a table of named bearings (each row with its source), and the
defect frequencies at a shaft speed (Randall & Antoni, "Rolling element bearing diagnostics - A tutorial", MSSP
25(2), 2011, eq. 1-4):

- BPFO = n/2 fr (1 - d/D cos a)      outer race, ball pass frequency
- BPFI = n/2 fr (1 + d/D cos a)      inner race
- BSF  = D/(2d) fr (1 - (d/D cos a)^2)  ball spin (a ball defect strikes both races: 2 BSF)
- FTF  = fr/2 (1 - d/D cos a)        cage
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from drsn_edge.errors import DrsnEdgeError

INCH = 25.4


@dataclass(frozen=True)
class BearingGeometry:
    """Geometry in mm and degrees; defaults are the SKF 6205-2RS JEM of the CWRU rig's drive end."""

    n_balls: int = 9
    ball_diameter: float = 7.94
    pitch_diameter: float = 39.04
    contact_angle_deg: float = 0.0
    name: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        vals = (self.ball_diameter, self.pitch_diameter, self.contact_angle_deg)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
            raise DrsnEdgeError(f"bearing geometry must be numbers, got {vals}")
        if not isinstance(self.n_balls, int) or not 3 <= self.n_balls <= 100:
            raise DrsnEdgeError(f"a bearing has 3 to 100 rolling elements, got {self.n_balls}")
        if not self.ball_diameter > 0:
            raise DrsnEdgeError(f"the ball diameter must be positive, got {self.ball_diameter}")
        if not self.pitch_diameter > self.ball_diameter:
            raise DrsnEdgeError(f"the pitch diameter ({self.pitch_diameter:g}) must exceed the ball diameter "
                                f"({self.ball_diameter:g}): the balls would not fit")
        if not 0 <= self.contact_angle_deg < 60:
            raise DrsnEdgeError(f"the contact angle must be 0 to 60 degrees, got {self.contact_angle_deg:g}")

    @property
    def ratio(self) -> float:
        return self.ball_diameter / self.pitch_diameter * math.cos(math.radians(self.contact_angle_deg))

    def orders(self) -> dict[str, float]:
        """Defect frequencies as multiples of the shaft rate."""
        r = self.ratio
        return {"bpfo": self.n_balls / 2 * (1 - r), "bpfi": self.n_balls / 2 * (1 + r),
                "bsf": self.pitch_diameter / (2 * self.ball_diameter) * (1 - r * r), "ftf": (1 - r) / 2}

    def frequencies(self, shaft_hz: float) -> dict[str, float]:
        """Characteristic frequencies in Hz: FTF (cage), BPFO, BPFI, BSF."""
        return {k: v * shaft_hz for k, v in self.orders().items()}

    def describe(self) -> dict[str, object]:
        return {"name": self.name or "custom", "n_balls": self.n_balls, "ball_diameter_mm": self.ball_diameter,
                "pitch_diameter_mm": self.pitch_diameter, "contact_angle_deg": self.contact_angle_deg,
                "orders": {k: round(v, 4) for k, v in self.orders().items()}}


_CWRU = "Case Western Reserve University Bearing Data Center, bearing information page"
#: named bearings: geometry and where it comes from
BEARINGS: dict[str, BearingGeometry] = {b.name: b for b in (
    # 0.3126 in and 1.537 in on the CWRU page; in mm as rounded there (the simulator's bearing since 0.1)
    BearingGeometry(9, 7.94, 39.04, 0.0, "6205-2RS-JEM", f"SKF 6205-2RS JEM, CWRU drive end ({_CWRU})"),
    BearingGeometry(8, 0.2656 * INCH, 1.122 * INCH, 0.0, "6203-2RS-JEM", f"SKF 6203-2RS JEM, CWRU fan end ({_CWRU})"),
    BearingGeometry(8, 0.235 * INCH, 1.245 * INCH, 0.0, "MFPT", "the MFPT bearing fault data set's test bearing "
                    "(Society for Machinery Failure Prevention Technology, Condition Based Maintenance Fault Database)"),
    BearingGeometry(8, 6.75, 28.55, 0.0, "6203", "FAG 6203 of the Paderborn University bearing data set (Lessmeier et "
                    "al., PHM Society European Conference, 2016)"),
    BearingGeometry(8, 7.92, 34.55, 0.0, "UER204", "LDK UER204 (6204 series) of the XJTU-SY run-to-failure data set "
                    "(Wang et al., IEEE Trans. Reliability 69(1), 2020)"),
    BearingGeometry(16, 0.331 * INCH, 2.815 * INCH, 15.17, "ZA-2115", "Rexnord ZA-2115 of the NASA IMS run-to-failure "
                    "data set (Qiu et al., J. Sound Vib. 289, 2006)"),
)}
#: other spellings of the same bearings
ALIASES = {"6205": "6205-2RS-JEM", "cwru-de": "6205-2RS-JEM", "6203-jem": "6203-2RS-JEM", "cwru-fe": "6203-2RS-JEM",
           "mfpt": "MFPT", "6204": "UER204", "ims": "ZA-2115"}


def bearing_from_text(text: str) -> BearingGeometry:
    """A bearing by name (``6205``, ``MFPT``...) or as ``n,d,D,angle`` (mm, degrees); a one-line error otherwise, with
    the closest names."""
    text = str(text).strip()
    key = {k.lower(): k for k in BEARINGS}.get(text.lower()) or ALIASES.get(text.lower())
    if key:
        return BEARINGS[key]
    parts = [p.strip() for p in text.split(",")]
    if len(parts) in (3, 4) and all(parts):
        try:
            n = int(parts[0])
            d, big = float(parts[1]), float(parts[2])
            angle = float(parts[3]) if len(parts) == 4 else 0.0
        except ValueError:
            raise DrsnEdgeError(f"bearing {text!r}: expected n,d,D,angle as numbers (balls, ball and pitch diameter in "
                                "mm, contact angle in degrees)") from None
        return BearingGeometry(n, d, big, angle, name=f"custom {n},{d:g},{big:g},{angle:g}")
    names = [*BEARINGS, *ALIASES]
    near = difflib.get_close_matches(text, names, n=3, cutoff=0.4) or difflib.get_close_matches(text.upper(), names, n=3,
                                                                                               cutoff=0.4)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise DrsnEdgeError(f"unknown bearing {text!r}{hint} (known: {', '.join(BEARINGS)}; or give n,d,D,angle in mm and "
                        "degrees)")


def check_speed(rpm: float | None = None, shaft_hz: float | None = None) -> float | None:
    """The shaft rate in Hz from rpm or Hz (not both); a one-line error for a speed that is not a positive number."""
    if rpm is not None and shaft_hz is not None:
        raise DrsnEdgeError("give the shaft speed once: --rpm or --shaft-hz")
    value, unit = (rpm, "rpm") if rpm is not None else (shaft_hz, "Hz")
    if value is None:
        return None
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise DrsnEdgeError(f"the shaft speed must be a positive number of {unit}, got {value}")
    hz = value / 60.0 if unit == "rpm" else float(value)
    if hz > 2000:
        raise DrsnEdgeError(f"a shaft at {hz:g} Hz ({hz * 60:g} rpm) is beyond any bearing in this table; a unit slip?")
    return hz
