"""References between module calls are values: a wrong name fails at generation time."""

from __future__ import annotations

import pytest
from cutover.generator.plan.hcl import Expr
from cutover.generator.plan.modules import (
    KmsArgs,
    ModuleCall,
    ModuleRef,
    UnknownReference,
    check_references,
)
from cutover.generator.plan.release import module_calls
from cutover.generator.spec.loader import load_spec

from tests.conftest import ROOT

BASE = ROOT / "tests" / "data" / "base.release.yaml"


def test_an_output_the_module_does_not_have_is_refused():
    with pytest.raises(UnknownReference, match=r"module.user_read_candidate.alias: the function module has no"):
        ModuleRef("user_read_candidate", "function").output("alias")


def test_a_module_that_does_not_exist_is_refused():
    with pytest.raises(UnknownReference, match="no module 'functions'"):
        ModuleRef("x", "functions")


def test_a_reference_to_a_module_block_not_in_the_plan_is_refused():
    # GIVEN the calls of a shadowing release WHEN the shadow block is dropped (a rename would do the same)
    calls = [c for c in module_calls(load_spec(BASE)) if c.source != "shadow"]
    # THEN the candidate's reference to the shadow ledger no longer resolves
    with pytest.raises(UnknownReference, match=r"module.user_read_shadow.ledger_table_arn: no module"):
        check_references(calls)


def test_references_written_inside_expressions_are_checked_too():
    call = ModuleCall(ModuleRef("a", "kms"), "", KmsArgs(alias_name="a", key_arn=ModuleRef("a", "kms").output("key_arn")))
    check_references([call])
    bad = ModuleCall(ModuleRef("a", "kms"), "", KmsArgs(alias_name="a", key_arn=Expr("jsonencode([module.a.key_id])")))
    with pytest.raises(UnknownReference, match="the kms module has no output 'key_id'"):
        check_references([bad])


