"""Support for the Snakemake workflow: everything `workflow/rules/common.smk` needs, testable here.

The reference-compatible PyIMCOM JSON is the single source of truth for paths (``OBSFILE``,
``INDATA``, ``INPSF``, ``OUT``, ``INLAYERCACHE``).  The Snakemake YAML config names that JSON and holds
workflow-only settings (see ``pyimcom/schemas/config.schema.yaml``).
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path

import jsonschema
import yaml

from .cache import mask_path, stack_path
from .config import Config
from .errors import ConfigError, InputFileError
from .geometry import block_filename
from .instrument import filter_name
from .io.labnoise import labnoise_path
from .io.psf import psf_path
from .io.science import get_format
from .layers.recipes import parse_recipes
from .settings import layer_settings, mosaic_geometry, plan_settings, target_area
from .simulate import SurveySettings, plan_survey, survey_files

__all__ = [
    "SCHEMA_PATH",
    "validate_workflow_config",
    "WorkflowContext",
    "mosaic_geometry",
    "target_area",
    "plan_settings",
    "survey_settings",
    "link_file",
]

SCHEMA_PATH = Path(__file__).parent / "schemas" / "config.schema.yaml"


def validate_workflow_config(config: dict) -> dict:
    """Validate a Snakemake config dict against the schema, filling defaults (in place).

    Raises
    ------
    ConfigError
        Naming the offending key and the schema's complaint.
    """
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator_cls = jsonschema.validators.validator_for(schema)

    def set_defaults(validator, properties, instance, schema):
        for name, sub in properties.items():
            if isinstance(instance, dict) and "default" in sub:
                instance.setdefault(name, sub["default"] if not isinstance(sub["default"], dict) else {})
        yield from validator_cls.VALIDATORS["properties"](validator, properties, instance, schema)

    filling = jsonschema.validators.extend(validator_cls, {"properties": set_defaults})
    try:
        filling(schema).validate(config)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ConfigError(f"workflow config key {where}: {exc.message}") from None
    return config


def survey_settings(section: dict) -> SurveySettings:
    """`SurveySettings` from the ``simulate`` section of the workflow config (unknown keys ignored)."""
    names = {f.name for f in fields(SurveySettings)}
    return SurveySettings(**{k: v for k, v in section.items() if k in names})


def link_file(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Make ``dst`` a symbolic link to the absolute path of ``src``, atomically.

    Raises
    ------
    InputFileError
        If ``src`` does not exist.
    """
    src = os.path.abspath(src)
    if not os.path.exists(src):
        raise InputFileError(f"cannot link {dst}: source file {src} does not exist")
    dst = os.fspath(dst)
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    tmp = f"{dst}.{os.getpid()}.lnk"
    os.symlink(src, tmp)
    os.replace(tmp, dst)


@dataclass
class WorkflowContext:
    """The validated workflow config, the PyIMCOM configuration, and the files they imply."""

    config: dict
    cfg: Config

    @classmethod
    def from_config(cls, config: dict) -> WorkflowContext:
        """Validate a Snakemake config dict and load the PyIMCOM JSON it names."""
        validate_workflow_config(config)
        return cls(config, Config(config["pyimcom_config"]))

    # ---- simulation ---------------------------------------------------------------------------
    @property
    def simulate(self) -> bool:
        """Whether the built-in synthetic survey provides the inputs."""
        return bool(self.config["simulate"].get("enabled", True))

    def simulated_files(self) -> dict[str, list[str]]:
        """Files the simulator writes, by kind, as paths under the simulation directory."""
        return {k: list(v) for k, v in self._simulated_files.items()}

    @cached_property
    def _simulated_files(self) -> dict[str, list[str]]:
        sim = self.config["simulate"]
        layout = plan_survey(survey_settings(sim), target_area(self.cfg))
        outdir = sim.get("outdir", "results/sim")
        return {k: [os.path.join(outdir, p) for p in v] for k, v in survey_files(layout).items()}

    def simulate_args(self) -> str:
        """Command-line options of ``pyimcom simulate`` for the ``simulate`` section."""
        sim = self.config["simulate"]
        names = {f.name for f in fields(SurveySettings)}
        return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in sorted(sim.items()) if k in names)

    # ---- linking ------------------------------------------------------------------------------
    def link_map(self) -> dict[str, str]:
        """Destination (the JSON's layout) -> source, for every input file to link (a copy).

        Empty when the inputs are used in place (``inputs.link: false`` with real data).
        """
        return dict(self._links)

    @cached_property
    def _links(self) -> dict[str, str]:
        cfg = self.cfg
        if self.simulate:
            files = self.simulated_files()
            sources = {
                "obsfile": files["obsfile"][0],
                "science": files["science"],
                "psf": files["psf"],
                "labnoise": files["labnoise"],
                "truth": files["truth"],
            }
        else:
            inputs = self.config["inputs"]
            if not inputs.get("link", True):
                return {}
            missing = [k for k in ("obsfile", "science_dir", "psf_dir") if k not in inputs]
            if missing:
                raise ConfigError(
                    f"workflow config inputs: missing {', '.join(missing)} "
                    "(needed when simulate.enabled is false and inputs.link is true)"
                )
            sources = {
                "obsfile": inputs["obsfile"],
                "science": sorted(glob.glob(os.path.join(inputs["science_dir"], "*.fits"))),
                "psf": sorted(glob.glob(os.path.join(inputs["psf_dir"], "*.fits"))),
                "labnoise": sorted(glob.glob(os.path.join(inputs.get("labnoise_dir", ""), "*.fits")))
                if inputs.get("labnoise_dir")
                else [],
                "truth": sorted(glob.glob(os.path.join(inputs["truth_dir"], "*.fits")))
                if inputs.get("truth_dir")
                else [],
            }
        out = {os.path.normpath(cfg.obsfile): sources["obsfile"]}
        sci_dir = self.science_dir()
        for kind, dst_dir in (
            ("science", sci_dir),
            ("psf", cfg.inpsf_path),
            ("labnoise", os.path.join(cfg.inpath, "labnoise")),
            ("truth", os.path.dirname(self.truth_path(0, 1))),
        ):
            for src in sources[kind]:
                out[os.path.normpath(os.path.join(dst_dir, os.path.basename(src)))] = src
        return out

    def science_dir(self) -> str:
        """Directory where the INDATA format keeps the science images."""
        cfg = self.cfg
        example = get_format(cfg.informat).science_path(cfg.inpath, filter_name(cfg.use_filter), 0, 1)
        return os.path.dirname(example)

    def science_inputs(self) -> list[str]:
        """Science images (as linked, or found in place) that the planner reads headers from."""
        sci_dir = self.science_dir()
        links = self.link_map()
        if links:
            return sorted(d for d in links if os.path.dirname(d) == os.path.normpath(sci_dir))
        return sorted(glob.glob(os.path.join(sci_dir, "*.fits")))

    def science_path(self, obsid: int, sca: int) -> str:
        """Science image of ``(obsid, sca)`` in the JSON's INDATA layout."""
        cfg = self.cfg
        return os.path.normpath(
            get_format(cfg.informat).science_path(cfg.inpath, filter_name(cfg.use_filter), obsid, sca)
        )

    def truth_path(self, obsid: int, sca: int) -> str:
        """Truth image of ``(obsid, sca)`` (``truth`` layer) in the JSON's INDATA layout."""
        cfg = self.cfg
        return os.path.normpath(
            get_format(cfg.informat).truth_path(cfg.inpath, filter_name(cfg.use_filter), obsid, sca)
        )

    def psf_path(self, obsid: int) -> str:
        """PSF file of an exposure in the JSON's INPSF layout."""
        return os.path.normpath(psf_path(self.cfg.inpsf_path, self.cfg.inpsf_format, obsid))

    def block_files(self) -> list[str]:
        """Output files of every block, in block-number order."""
        nb = self.cfg.nblock
        return [block_filename(self.cfg.outstem, *divmod(k, nb)) for k in range(nb * nb)]

    def block_inputs(self, plan: dict, ibx: int, iby: int) -> dict[str, list[str]]:
        """Input files of one block from its plan entry: science images and PSF files."""
        entry = plan["blocks"][ibx * self.cfg.nblock + iby]
        images = [tuple(p) for p in entry["images"]]
        files = {"science": [self.science_path(o, s) for o, s in images],
                 "psf": sorted({self.psf_path(o) for o, _ in images})}  # fmt: skip
        if self.uses_layer_cache:
            files["layers"] = [f for o, s in images for f in self.layer_files(o, s)]
        return files

    # ---- layers -------------------------------------------------------------------------------
    @property
    def uses_layer_cache(self) -> bool:
        """Whether INLAYERCACHE is set (then every image's layers are files made by `input_layers`)."""
        return bool(self.cfg.inlayercache)

    def layer_files(self, obsid: int, sca: int) -> list[str]:
        """``[stack, mask]`` cache files of an image."""
        stem = self.cfg.inlayercache
        return [os.path.normpath(stack_path(stem, obsid, sca)), os.path.normpath(mask_path(stem, obsid, sca))]

    def layer_inputs(self, obsid: int, sca: int) -> list[str]:
        """Files the layer stack of ``(obsid, sca)`` is built from."""
        settings = layer_settings(self.cfg)
        families = {r.family for r in parse_recipes(settings.extrainput)}
        files = [self.science_path(obsid, sca)]
        if families & {"cstar", "nstar", "gsstar", "gstrstar", "gsfdstar", "gsext", "gsextchrom"}:
            d, fmt, _ = settings.draw_psf
            files.append(os.path.normpath(psf_path(d, fmt, obsid)))
        if "labnoise" in families:
            files.append(os.path.normpath(labnoise_path(self.cfg.inpath, obsid, sca)))
        if "truth" in families:
            files.append(self.truth_path(obsid, sca))
        if settings.pmask:
            files.append(settings.pmask)
        return files

    def layer_recipe(self) -> str:
        """The recipe-relevant settings as canonical text (a change rebuilds the layer files)."""
        settings = layer_settings(self.cfg)
        return json.dumps({"hash": settings.recipe_hash(), "layers": settings.layer_names})

    @staticmethod
    def strip_of(plan: dict, obsid: int, sca: int) -> int:
        """Strip of an image in the plan."""
        for img in plan["images"]:
            if img["obsid"] == obsid and img["sca"] == sca:
                return int(img["strip"])
        raise ConfigError(f"image (obsid {obsid}, SCA {sca}) is not in the plan")

    def coadd_settings(self) -> str:
        """Every keyword of the PyIMCOM JSON, as canonical text (a change reruns the blocks)."""
        return json.dumps(self.cfg.to_dict(), sort_keys=True)

    def plan_path(self) -> str:
        """Path of the plan file."""
        return self.config.get("plan", "results/plan.json")

    def describe(self) -> str:
        """One line describing the mosaic (for logs)."""
        cfg = self.cfg
        return (
            f"mosaic {cfg.nblock}x{cfg.nblock} blocks in {filter_name(cfg.use_filter)}, "
            f"{cfg.n1}x{cfg.n1} stamps of {cfg.n2} px per block, OUT={cfg.outstem}"
        )
