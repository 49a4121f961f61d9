"""A hand-written model in the shape of docs/rules.md, for format and checker unit tests.

The real library comes from druglib/*.toml; tests/test_build.py checks that
the compiled rules equal this independent transcription of the monograph,
so a change on either side shows up as a difference a reviewer must explain.
"""
import copy


def dev_model():
    return copy.deepcopy(_MODEL)


_MODEL = {
    "library_name": "blinatumomab",
    "library_version": 1,
    "rules_sha256": bytes(range(32)),
    "drug": {
        "name": "blinatumomab",
        "limits": {
            "weight_band_g": 45000, "min_age_days": 28, "min_age_confirm_days": 31,
            "max_daily_ng": 28000, "max_daily_allowance_ppm": 5000,
            "dose_soft_ppm": 50000, "dose_hard_ppm": 100000, "vtbi_tolerance_ul": 50,
            "preservative_min_weight_g": 22000, "dehp_free_required": 1,
            "weight_min_g": 500, "weight_max_g": 350000, "bsa_min_cm2": 1000, "bsa_max_cm2": 35000,
            "age_max_days": 45000, "restart_step_days": 7, "interruption_continue_max_days": 7,
            "reinitiation_hours": 4, "adult_age_days": 6575,
            "bsa_weight_under_ppm": 250000, "preservative_hard_min_weight_g": 5400, "bsa_weight_over_ppm": 250000,
            "bsa_weight_k_cm2": 1050, "bsa_weight_hard_under_ppm": 330000, "bsa_weight_hard_over_ppm": 500000,
            "bsa_height_tolerance_cm2": 100, "height_min_mm": 300, "height_max_mm": 2500, "priming_volume_ul": 5000,
        },
        "doses": {
            "step": {"fixed_ng_day": 9000, "bsa_ng_m2_day": 5000, "bsa_cap_ng_day": 9000},
            "target": {"fixed_ng_day": 28000, "bsa_ng_m2_day": 15000, "bsa_cap_ng_day": 28000},
        },
        "restart_dose": "step",
        "admin": [
            {"duration_h": 24, "rate_ul_h": 10000, "vtbi_ul": 240000, "preservative": "forbidden", "filter": "required"},
            {"duration_h": 48, "rate_ul_h": 5000, "vtbi_ul": 240000, "preservative": "forbidden", "filter": "required"},
            {"duration_h": 168, "rate_ul_h": 600, "vtbi_ul": 100800, "preservative": "required", "filter": "forbidden"},
        ],
        "indications": [
            {"name": "mrd", "max_cycles": 4,
             "phases": [
                 {"name": "induction", "cycle_from": 1, "cycle_to": 1, "infusion_days": 28, "free_days": 14},
                 {"name": "consolidation", "cycle_from": 2, "cycle_to": 4, "infusion_days": 28, "free_days": 14}],
             "schedule": [{"cycle_from": 1, "cycle_to": 4, "day_from": 1, "day_to": 28, "dose": "target"}],
             "hospitalization": [
                 {"cycle_from": 1, "cycle_to": 1, "day_from": 1, "day_to": 3},
                 {"cycle_from": 2, "cycle_to": 2, "day_from": 1, "day_to": 2}],
             "premedication": [
                 {"cycle_from": 1, "cycle_to": 4, "day": 1, "population": "adult"},
                 {"cycle_from": 1, "cycle_to": 1, "day": 1, "population": "pediatric"}]},
            {"name": "relapsed-refractory", "max_cycles": 9,
             "phases": [
                 {"name": "induction", "cycle_from": 1, "cycle_to": 2, "infusion_days": 28, "free_days": 14},
                 {"name": "consolidation", "cycle_from": 3, "cycle_to": 5, "infusion_days": 28, "free_days": 14},
                 {"name": "continued", "cycle_from": 6, "cycle_to": 9, "infusion_days": 28, "free_days": 56}],
             "schedule": [
                 {"cycle_from": 1, "cycle_to": 1, "day_from": 1, "day_to": 7, "dose": "step"},
                 {"cycle_from": 1, "cycle_to": 1, "day_from": 8, "day_to": 28, "dose": "target"},
                 {"cycle_from": 2, "cycle_to": 9, "day_from": 1, "day_to": 28, "dose": "target"}],
             "hospitalization": [
                 {"cycle_from": 1, "cycle_to": 1, "day_from": 1, "day_to": 9},
                 {"cycle_from": 2, "cycle_to": 2, "day_from": 1, "day_to": 2}],
             "premedication": [
                 {"cycle_from": 1, "cycle_to": 9, "day": 1, "population": "adult"},
                 {"cycle_from": 1, "cycle_to": 1, "day": 1, "population": "pediatric"},
                 {"cycle_from": 1, "cycle_to": 1, "day": 8, "population": "adult"},
                 {"cycle_from": 1, "cycle_to": 1, "day": 8, "population": "pediatric"}]},
        ],
    },
}
