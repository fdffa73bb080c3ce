"""Rules of law as pure functions and data: no database, no web, no I/O beyond package data.

- ``uscc``: unified social credit code (GB 32100-2015)
- ``calendar``: statutory holidays and make-up working days
- ``periods``: counting periods per 民法典 Arts 201-203
- ``jurisdictions``: one rule set per jurisdiction, each number with its citation
- ``congress``: worker-congress quorum and vote
- ``representatives``: negotiation representatives
- ``minimum_wage``: minimum-wage tables and the piece-rate floor
"""

from bargaining.rules.calendar import HolidayCalendar, YearSchedule, default_calendar
from bargaining.rules.congress import VoteOutcome, evaluate_vote
from bargaining.rules.jurisdictions import (
    DEADLINE_KINDS,
    DEADLINE_LABELS,
    DEFAULT_JURISDICTION,
    RULE_SETS,
    CongressRule,
    DeadlineKind,
    DisclosureTiming,
    PassRule,
    RepresentativeRule,
    RuleSet,
    TimedRule,
    get_rule_set,
    timed_rule,
    timed_rules,
)
from bargaining.rules.minimum_wage import MinimumWage, check_piece_rate, minimum_wage, piece_rate_floor
from bargaining.rules.periods import (
    DueDate,
    Period,
    Unit,
    due_date,
    end_of_day_utc,
    legal_date,
    window_opens,
)
from bargaining.rules.representatives import RepresentativeSpec, Side, check_representatives
from bargaining.rules.uscc import (
    CHARSET,
    InvalidCreditCode,
    check_digit,
    complete_credit_code,
    validate_credit_code,
)

__all__ = [
    "CHARSET",
    "DEADLINE_KINDS",
    "DEADLINE_LABELS",
    "DEFAULT_JURISDICTION",
    "RULE_SETS",
    "CongressRule",
    "DeadlineKind",
    "DisclosureTiming",
    "DueDate",
    "HolidayCalendar",
    "InvalidCreditCode",
    "MinimumWage",
    "PassRule",
    "Period",
    "RepresentativeRule",
    "RepresentativeSpec",
    "RuleSet",
    "Side",
    "TimedRule",
    "Unit",
    "VoteOutcome",
    "YearSchedule",
    "check_digit",
    "check_piece_rate",
    "check_representatives",
    "complete_credit_code",
    "default_calendar",
    "due_date",
    "end_of_day_utc",
    "evaluate_vote",
    "get_rule_set",
    "legal_date",
    "minimum_wage",
    "piece_rate_floor",
    "timed_rule",
    "timed_rules",
    "validate_credit_code",
    "window_opens",
]
