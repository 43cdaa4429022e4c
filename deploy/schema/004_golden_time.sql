-- Golden-time metrics are data (docs/golden-time.md): the dispatcher loads this table at start
-- and computes every clock from incident_events. Targets are configuration: a county audited
-- against another edition of a standard changes the rows, not the code. Sources are in
-- ../shared/research/clinical.md (section numbers in `standard`).
CREATE TABLE golden_metrics (
    name            text PRIMARY KEY,
    applies_to      text NOT NULL CHECK (applies_to IN ('all', 'chest_pain', 'stroke', 'stemi',
                        'town', 'countryside')),
    start_event     text NOT NULL,     -- alternatives separated by '|': kind, status:X or onset
    end_event       text NOT NULL,
    target_s        integer NOT NULL CHECK (target_s > 0),
    warning_s       integer CHECK (warning_s IS NULL OR warning_s > 0),
    compliance      text NOT NULL,     -- the rule a period is judged by, for reports
    standard        text NOT NULL,
    active          boolean NOT NULL DEFAULT true
);

INSERT INTO golden_metrics (name, applies_to, start_event, end_event, target_s, warning_s,
                            compliance, standard) VALUES
-- 120 centre (国卫医发〔2020〕19号; clinical.md 4.2)
('call_answer',        'all',        'call_ringing', 'call_received',                 10,   NULL,
 '>= 95% within 10 s', '国卫医发〔2020〕19号: 120呼救电话10秒内接听比例 ≥95%'),
('call_to_dispatch',   'all',        'call_received', 'assigned|auto_assigned',        60,   45,
 '>= 90% within 60 s', 'NFPA 1225 (2022) call processing 90% ≤60 s (clinical.md 4.1)'),
('dispatch_to_rolling','all',        'assigned|auto_assigned', 'status:en_route',     180,  120,
 '>= 95% within 3 min', '国卫医发〔2020〕19号: 3分钟出车率 ≥95%'),
('call_to_scene_town', 'town',       'call_received', 'status:on_scene|first_medical_contact', 900, 720,
 '>= 90% within 15 min', 'county golden rescue circle: 15 min in town (clinical.md 4.2, [K])'),
('call_to_scene_countryside', 'countryside', 'call_received', 'status:on_scene|first_medical_contact', 1800, 1500,
 '>= 90% within 30 min', 'county golden rescue circle: 30 min in the countryside (clinical.md 4.2, [K])'),
-- chest pain / STEMI (中国胸痛中心; clinical.md 1.2, 1.3, 3.1)
('fmc_to_ecg',         'chest_pain', 'first_medical_contact|status:on_scene', 'first_ecg', 600, 420,
 'monthly mean < 10 min and >= 75% of cases', '中国胸痛中心再认证 #1 FMC-to-ECG'),
('ecg_to_diagnosis',   'stemi',      'first_ecg', 'stemi_confirmed',                   600,  420,
 'monthly mean < 10 min', '中国胸痛中心再认证 #3'),
('door_to_wire',       'stemi',      'door|status:at_hospital', 'wire',               5400, 4500,
 'monthly mean <= 90 min and >= 75% of cases', '中国胸痛中心再认证 #5 D2W'),
('fmc_to_wire',        'stemi',      'first_medical_contact|status:on_scene', 'wire', 7200, 6000,
 '>= 75% of cases (90 min when taken straight to a PCI centre)', 'CPC vendor QC FMC2W ≤120 (clinical.md 1.3); ACC/AHA FMC-to-device'),
('dido',               'stemi',      'door', 'door_out',                              1800, 1200,
 '>= 75% of transfers', 'DIDO ≤30 min at a non-PCI hospital (clinical.md 1.3, [K])'),
('door_to_needle_stemi','stemi',     'door|status:at_hospital', 'needle',             1800, 1200,
 '>= 75% of thrombolysed cases', 'CPC 30-min thrombolysis rate (clinical.md 1.3)'),
-- stroke (clinical.md 2.2, 2.5)
('door_to_ct',         'stroke',     'door|status:at_hospital', 'ct',                 1500, 1200,
 '>= 75% of cases', 'AHA/NINDS door → CT ≤25 min'),
('door_to_needle',     'stroke',     'door|status:at_hospital', 'needle',             3600, 2700,
 '>= 75% within 60 min and >= 50% within 45 min', 'AHA Target: Stroke Phase II'),
('door_to_puncture',   'stroke',     'door|status:at_hospital', 'puncture',           5400, 4500,
 '>= 75% of cases', 'SNIS / Target: Stroke Phase III EVT'),
('onset_to_needle',    'stroke',     'onset', 'needle',                              16200, 12600,
 'IVT within 4.5 h of last known well', 'AHA/ASA IV alteplase window (clinical.md 2.2)'),
('onset_to_puncture',  'stroke',     'onset', 'puncture',                            21600, 18000,
 'EVT within 6 h (24 h with imaging selection)', 'AHA Class I-A thrombectomy window (clinical.md 2.2)');
