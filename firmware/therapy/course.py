# The course record and its rules (DESIGN.md, "the pump through a whole
# infusion", course record; docs/therapy.md). Pure: values in, findings out.
#
# The record is (indication, cycle, infused time of that cycle, when the
# infusion last ran, which is when the cycle ended once it is complete).
# Times are integer milli-hours (mh) on the pump's clock.
#
# Monograph rules encoded here (../shared/seed/blinatumomab-dosing.txt):
#  - line 73: "If treatment interruption ... is 7 days or less, continue the
#    same cycle to a total of 28 days of infusion": infusion days, not
#    calendar days, so the next bag starts on day 1 + whole infused days.
#  - line 74: "longer than 7 days, start a new cycle": only the next cycle's
#    day 1 (library limit interruption_continue_max_days).
#  - lines 10, 17, 20 and 148-149: 14-day (56-day for continued therapy)
#    treatment-free interval after the 28 infusion days: a new cycle before it
#    has passed on the pump's clock is a soft stop (library phase free_days).
from firmware.library.body import phase_of

MH_H = 1000
MH_DAY = 24 * MH_H


class Record:
    def __init__(self, ind, cycle, inf_mh, full_mh, free_mh, last_mh):
        self.ind = ind          # indication name
        self.cycle = cycle
        self.inf_mh = inf_mh    # infused time of this cycle
        self.full_mh = full_mh  # the cycle's infusion days (28) in mh
        self.free_mh = free_mh  # its treatment-free interval (14 or 56 days) in mh
        self.last_mh = last_mh  # clock when the infusion last ran (-1: not on this pump)

    def copy(self):
        return Record(self.ind, self.cycle, self.inf_mh, self.full_mh, self.free_mh, self.last_mh)

    def complete(self):
        return self.inf_mh >= self.full_mh

    def next_day(self):
        return 1 + self.inf_mh // MH_DAY

    def ended_mh(self):
        """When the cycle ended (its last bag stopped), or -1 while not complete."""
        return self.last_mh if self.complete() else -1

    def interrupted_mh(self, now_mh):
        """Time since the infusion last ran (0 if it never ran on this pump)."""
        return now_mh - self.last_mh if self.last_mh >= 0 else 0

    def as_list(self):
        return [self.ind, self.cycle, self.inf_mh, self.full_mh, self.free_mh, self.last_mh]

    def __eq__(self, other):
        return isinstance(other, Record) and self.as_list() == other.as_list()


def new_record(lib_ind, cycle, day, now_mh):
    ph = phase_of(lib_ind, cycle)
    if ph is None:
        return None
    inf = (day - 1) * MH_DAY
    # days before `day` count as infused (DESIGN.md: "counting days before day
    # as infused"); they ran elsewhere and stopped no later than now
    return Record(lib_ind["name"], cycle, inf, ph["infusion_days"] * MH_DAY, ph["free_days"] * MH_DAY,
                  now_mh if day > 1 else -1)


def continue_max_mh(lib_drug):
    return lib_drug["limits"]["interruption_continue_max_days"] * MH_DAY


def follow(rec, lib_drug, ind_name, cycle, day, now_mh, add):
    """Does a programming of (indication, cycle, day) follow the course record?
    Findings go to add(code, detail); returns the record the programming
    leaves when it takes effect (None when it cannot)."""
    lib_ind = None
    for ind in lib_drug["indications"]:
        if ind["name"] == ind_name:
            lib_ind = ind
    if lib_ind is None or cycle < 1 or day < 1 or phase_of(lib_ind, cycle) is None:
        return None  # the checker has already refused it (unknown indication, cycle)
    if rec is None:
        return new_record(lib_ind, cycle, day, now_mh)
    if ind_name != rec.ind:
        add("COURSE_INDICATION_CHANGED", "the course record is %s cycle %d; %s entered" % (rec.ind, rec.cycle, ind_name))
        return None
    gap = rec.interrupted_mh(now_mh)
    if rec.complete() or gap > continue_max_mh(lib_drug):
        why = ("cycle %d is complete" % rec.cycle if rec.complete()
               else "cycle %d was interrupted for %s h, more than 7 days" % (rec.cycle, hours_text(gap)))
        if cycle != rec.cycle + 1 or day != 1:
            add("COURSE_NEW_CYCLE_REQUIRED", "%s: only cycle %d day 1 can follow; cycle %d day %d entered"
                % (why, rec.cycle + 1, cycle, day))
            return None
        if rec.complete():
            since = now_mh - rec.ended_mh()
            if since < rec.free_mh:
                add("COURSE_FREE_INTERVAL_SHORT", "cycle %d ended %s h ago; its treatment-free interval is %d days"
                    % (rec.cycle, hours_text(since), rec.free_mh // MH_DAY))
        return new_record(lib_ind, cycle, 1, now_mh)
    if cycle != rec.cycle:
        add("COURSE_CYCLE_MISMATCH", "the course record is at cycle %d day %d; cycle %d entered"
            % (rec.cycle, rec.next_day(), cycle))
        return None
    if day != rec.next_day():
        add("COURSE_DAY_MISMATCH", "cycle %d has %s infused hours: the next bag starts on day %d; day %d entered"
            % (rec.cycle, hours_text(rec.inf_mh), rec.next_day(), day))
        return None
    return rec.copy()


def hours_text(mh):
    whole, frac = divmod(mh, MH_H)
    if not frac:
        return str(whole)
    return ("%d.%03d" % (whole, frac)).rstrip("0")
