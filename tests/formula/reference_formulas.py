"""Every complete formula of the reference (formula-language.md §7, §6.5, §10), verbatim.

VALID: must parse and type-check with no error. INVALID: (formula, expected codes) rejected by the service or
by the reference's strict defaults.
"""

from __future__ import annotations

E1 = """startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;
"""

E2 = """maxNumberofVMs = 25;
$TargetDedicatedNodes = min(maxNumberofVMs, $PreemptedNodeCount.GetSample(180 * TimeInterval_Second));
$TargetLowPriorityNodes = min(maxNumberofVMs , maxNumberofVMs - $TargetDedicatedNodes);
$NodeDeallocationOption = taskcompletion;
"""

E3 = """$averageActiveTaskCount = avg($ActiveTasks.GetSample(TimeInterval_Minute * 15));
$TargetDedicated = min(10, $averageActiveTaskCount);
"""

E4 = """$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes)
"""

E5 = "$TargetDedicatedNodes = (time().weekday == 1 ? 5:1);"
E5_D15 = "$TargetDedicated = (time().weekday==1?5:1);"

E6 = """$curTime = time();
$workHours = $curTime.hour >= 8 && $curTime.hour < 18;
$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
$isWorkingWeekdayHour = $workHours && $isWeekday;
$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
$NodeDeallocationOption = taskcompletion;          // added D19
"""

E6_LOCAL = "$curTime = time() + (-6 * TimeInterval_Hour);"

E7 = """$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
$TargetDedicatedNodes = max(0, min($targetVMs, 20));
$NodeDeallocationOption = taskcompletion;
"""

E8 = """$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1),avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
$cores = $TargetDedicatedNodes * 4;
$extraVMs = (($tasks - $cores) + 3) / 4;
$targetVMs = ($TargetDedicatedNodes + $extraVMs);
$TargetDedicatedNodes = max(0,min($targetVMs,3));
$NodeDeallocationOption = taskcompletion;
"""

E9 = """$TargetDedicatedNodes = 4;
lifespan         = time() - time("Mon, 13 Mar 2023 20:29:32 GMT");   // {0}: illustrative RFC 1123 value
span             = TimeInterval_Minute * 60;
startup          = TimeInterval_Minute * 10;
ratio            = 50;
$TargetDedicatedNodes = (lifespan > startup ? (max($RunningTasks.GetSample(span, ratio), $ActiveTasks.GetSample(span, ratio)) == 0 ? 0 : $TargetDedicatedNodes) : 4);
"""

E10 = "$TargetDedicatedNodes = $CurrentDedicatedNodes;"

E11 = (
    "totalNodes=($CPUPercent.GetSamplePercent(TimeInterval_Minute*0,TimeInterval_Minute*10)<0.7?5:"
    "(min($CPUPercent.GetSample(TimeInterval_Minute*0, TimeInterval_Minute*10))>0.8?($CurrentDedicated*1.1)"
    ":$CurrentDedicated));$TargetDedicated=min(100,totalNodes);"
)

E13 = """$NodeDeallocationOption = taskcompletion;
lifespan = time() - time("Mon, 13 Mar 2023 20:29:32 GMT");
span = TimeInterval_Second * 90;
startup = TimeInterval_Minute * 2;
ratio = 10;
$TargetLowPriorityNodes = (lifespan > startup ? min($PendingTasks.GetSample(span, ratio)) : 2);
"""

E13_COUNT = "$NodeDeallocationOption = retaineddata; $TargetDedicatedNodes = ($PendingTasks.Count() ? 0 : 1);"

R1 = "$TargetDedicatedNodes=2"
R2 = "$TargetDedicatedNodes=3"
R3 = "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
R3_TERMINATE = "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=terminate"
R7 = "totalNodes=(min($CPUPercent.GetSample(TimeInterval_Minute*10))>0.8?5:1);$TargetDedicated=min(100,totalNodes);"

F1 = """$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0, $ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1), avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
$targetVMs = $tasks > 0 ? $tasks : max(0, $TargetDedicatedNodes / 2);
cappedPoolSize = 3;
$TargetDedicatedNodes = max(1, min($targetVMs, cappedPoolSize));
$NodeDeallocationOption = taskcompletion;
"""

F2 = """$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0, $PendingTasks.GetSample(1)) : max($PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
$maxTasksPerNode = 4;
$round = $maxTasksPerNode - 1;
$targetVMs = $tasks > 0 ? ($tasks + $round) / $maxTasksPerNode : max(0, $TargetDedicated/2) + 0.5;
$TargetDedicatedNodes = max(2, $targetVMs);
$TargetLowPriorityNodes = max(5, $targetVMs);
$NodeDeallocationOption = taskcompletion;
"""

F3 = """lastsample = val($PendingTasks.GetSample(1), 0);
samplevecavg = avg($PendingTasks.GetSample(TimeInterval_Minute * 10));
"""

F4 = """samplepercent = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 10);
lastsample = val($PendingTasks.GetSample(1), 0);
samplevecavg = samplepercent < 70 ? max(0, lastsample) : avg($PendingTasks.GetSample(TimeInterval_Minute * 10));
"""

F5 = E4 + "$NodeDeallocationOption = taskcompletion;\n"

# §1.10 "constructs the grammar must accept" (single statements; names they read are defined first)
GRAMMAR_ACCEPTS = [
    "$curTime = time(); $workHours = $curTime.hour >= 8 && $curTime.hour < 18;",
    "$tasks = 1; $targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);",
    "rebalance = 0 == 1;",
    "$tasks = 1; $cores = 2; $extraVMs = (($tasks - $cores) + 3) / 4;",
    "$samples = 1; $tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1),avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));",
    "maxNumberofVMs = 3; $TargetLowPriorityNodes = min(maxNumberofVMs , maxNumberofVMs - $TargetDedicatedNodes);",
    'lifespan = time() - time("Mon, 13 Mar 2023 20:29:32 GMT");',
    'u = time("2024-10-30T00:00:00.880011Z");',
    "x = 1 ? 2 : 0 ? 3 : 4;",
    "a = 1; x = -!-a;",
    "workhourStart = 8; now = time(); isWorkHours = now.hour >= workhourStart && now.hour < 18;",
    "v = $PendingTasks.GetSample(1); x = val(v, 0); y = avg(x, 2);",
    "stop();",
    "cond = 1; x = cond ? stop() : 1;",
    "$TargetDedicatedNodes = 1;;",
    "\r\n// note\r\n\t$TargetDedicatedNodes = 1; // one node\r\nx =\r\n  2;\r\n",
]

# checklist rows (§10) that must be accepted with no error
CHECKLIST_VALID = {
    1: [R1],
    2: [R2],
    3: [R3, R3_TERMINATE],
    4: ["\r\n// note\r\n\t$TargetDedicatedNodes = 1; // one node\r\nx =\r\n  2;\r\n"],
    10: ["$TargetDedicatedNodes = 1;;"],
    12: ["$TargetDedicatedNodes = 3; stop(); $TargetDedicatedNodes = 9;"],
    13: ["a = 2 + 3 * 4; b = 10 - 4 - 3; c = 8 / 2 / 2; d = 0 == 1 < 2; e = 0 && 0 || 1;"],
    14: ["x = -!0; y = !-2; z = -2 * -3;"],
    15: ["x = 1 ? 2 : 0 ? 3 : 4;"],
    16: [F4],
    17: ["ok = 0 && avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 95)) > 50;"],
    18: ["x = 1; $x = 2; B = 3; a = 4;"],
    19: ["a = 290 / 3; b = 1 / 3; c = 2.5; d = 100; e = 1234567;"],
    20: [
        't = time("Mon, 06 Oct 2014 10:20:00 GMT"); h = t.hour; d = t.weekday; m = t.month; '
        'u = time("2024-10-30T00:00:00.880011Z");'
    ],
    21: [
        't = time("Mon, 06 Oct 2014 10:20:00 GMT") + (-6 * TimeInterval_Hour); h = t.hour; '
        'y = time("2024-01-01T00:00:00Z") + TimeInterval_Year; same = time() == time();'
    ],
    22: ["v = $ActiveTasks.GetSample(3);"],
    23: ["myActiveSamples=$ActiveTasks.GetSample(5);"],
    24: ["n = $CurrentDedicatedNodes * 1.1;"],
    25: ["$half = $TargetDedicatedNodes / 2; $TargetDedicatedNodes = 4; $next = $TargetDedicatedNodes + 1;"],
    26: [
        "$TargetDedicatedNodes = 5; $TargetDedicated = 3;",
        "$TargetDedicated = 3; $TargetDedicatedNodes = 5;",
    ],
    27: ["$TargetDedicated=0;$TargetLowPriority=2"],
    28: ["$TargetDedicatedNodes = 0.5;", "$TargetDedicatedNodes = 2.7;", "$TargetDedicatedNodes = -3;"],
    29: ["$targetDedicatedNodes = 5;"],
    30: ["x = $CurrentDedicated;"],
    31: ["p = $CPUPercent.GetSamplePercent(TimeInterval_Minute * 10);"],
    32: [
        "x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 95));",
        "x = avg($CPUPercent.GetSample(TimeInterval_Minute * 10, 80));",
    ],
    33: [F3],
    34: [
        "a = avg($ActiveTasks.GetSample(3), 7); m = max(0, $ActiveTasks.GetSample(1)); "
        "n = len($ActiveTasks.GetSample(1));"
    ],
    35: [
        "a = round(2.5); b = round(-2.5); c = ceil(1.2); d = floor(1.8); e = lg(8); f = log(1000); g = ln(1); "
        "h = std(1, 2, 3, 4);"
    ],
    36: ["y = $ActiveTasks.GetSample(3) * 2;"],
    37: ["z = $TaskSlotsPerNode * 2;"],
    # runtime errors only (row 39): statically fine
    39: ["x = 1 / 0;", "y = log(0);", "z = avg($ActiveTasks.GetSample(1));", "s = std(5);"],
    40: [E9],
    43: [E1],
    44: [E7],
    45: [F1],
    46: [F2],
    47: [E6.rsplit("$NodeDeallocationOption", 1)[0]],
    48: [E5],
    49: [E13_COUNT],
}

VALID = {
    "E1": E1,
    "E2": E2,
    "E3": E3,
    "E4": E4,
    "E5": E5,
    "E5_D15": E5_D15,
    "E6": E6,
    "E6_LOCAL": E6_LOCAL,
    "E7": E7,
    "E8": E8,
    "E9": E9,
    "E10": E10,
    "E11": E11,
    "E13": E13,
    "E13_COUNT": E13_COUNT,
    "R1": R1,
    "R2": R2,
    "R3": R3,
    "R3_TERMINATE": R3_TERMINATE,
    "R7": R7,
    "F1": F1,
    "F2": F2,
    "F3": F3,
    "F4": F4,
}

# (formula, expected codes in order) for the rows the reference says are rejected
INVALID = {
    "row5_F5_missing_semicolon": (F5, ["FM002"]),
    "row6_block_comment": ("/* note */ $TargetDedicatedNodes = 1;", ["FM004"]),
    "row7_exponent": ("x = 1e3;", ["FM001"]),
    "row7_leading_dot": ("x = .5;", ["FM001"]),
    "row7_percent": ("x = 5 % 2;", ["FM004"]),
    "row7_unary_plus": ("x = +1;", ["FM001"]),
    "row8_single_quotes": ("t = time('Mon, 06 Oct 2014 10:20:00 GMT');", ["FM004"]),
    "row8_backslash": ('t = time(\\"Mon, 06 Oct 2014 10:20:00 GMT\\");', ["FM004"]),
    "row9_empty": ("", ["FM007"]),
    "row9_only_comment": ("// only a comment", ["FM007"]),
    "row36_double_times_vec": ("x = 2 * $ActiveTasks.GetSample(3);", ["FM109"]),
    "row36_vec_target": ("$TargetDedicatedNodes = $ActiveTasks.GetSample(1);", ["FM108"]),
    "row37_bare_metric": ("x = $PendingTasks + 1;", ["FM110"]),
    "row37_method_on_target": ("y = $TargetDedicatedNodes.GetSample(1);", ["FM111"]),
    "row38_keyword_elsewhere": ("x = requeue;", ["FM113"]),
    "row38_bad_deallocation": ("$NodeDeallocationOption = 5;", ["FM107"]),
    "row38_read_only": ("$CPUPercent = 5;", ["FM102"]),
    "row38_undefined": ("$TargetDedicatedNodes = foo + 1;", ["FM101"]),
    # §1.10 constructs the grammar must reject
    "trailing_dot": ("x = 1.;", ["FM001"]),
    "string_with_newline": ('t = time("Mon,\n06 Oct 2014");', ["FM005"]),
    "caret": ("x = 2 ^ 3;", ["FM004"]),
    "power": ("x = 2 ** 3;", ["FM001"]),
    "compound_assignment": ("x = 1; x += 1;", ["FM001"]),
    "increment": ("x = 1; x++;", ["FM001"]),
    "single_ampersand": ("a = 1; b = 1; x = a & b;", ["FM004"]),
    "digit_first_name": ("1x = 2;", ["FM001"]),
}
