// The console's words, Chinese and English, in one table: every visible string is a key here.
// Elements carry data-i18n="key" (text), data-i18n-ph="key" (placeholder) or
// data-i18n-title="key" (tooltip); scripts call t('key', {name: value}) for "{name}" slots.
// The language is remembered in localStorage ("goldline.lang"); Chinese is the default.
(function () {
'use strict';

const STRINGS = {
  app_title: ['120 指挥调度台', '120 Dispatch Console'],
  login_title: ['登录', 'Sign in'],
  login_token: ['操作令牌', 'Operator token'],
  login_or: ['或使用账号', 'or with an account'],
  login_user: ['用户名', 'User name'],
  login_password: ['密码', 'Password'],
  login_submit: ['登录', 'Sign in'],
  login_refused: ['拒绝登录：{msg}', 'Refused: {msg}'],
  login_no_server: ['无法连接调度服务器', 'Cannot reach the dispatcher'],
  login_need: ['请输入令牌或用户名和密码', 'Give a token, or a user name and password'],
  logout: ['退出', 'Sign out'],
  lang_toggle: ['English', '中文'],
  conn_up: ['已连接', 'Connected'],
  conn_down: ['连接中断，正在重连…', 'Disconnected, reconnecting…'],
  role: ['角色', 'Role'],
  county_time: ['县时间', 'County time'],

  intake: ['接警', 'Call intake'],
  caller: ['来电号码', 'Caller number'],
  location: ['位置', 'Location'],
  location_hint: ['点击地图或输入纬度、经度', 'Click the map or type lat, lon'],
  lat: ['纬度', 'Lat'],
  lon: ['经度', 'Lon'],
  address: ['地址', 'Address'],
  complaint: ['主诉', 'Complaint'],
  priority: ['优先级', 'Priority'],
  onset: ['发病/最后正常时间', 'Onset / last known well'],
  onset_hint: ['如 14:05 或 -30（30分钟前）', 'e.g. 14:05 or -30 (30 min ago)'],
  notes: ['备注', 'Notes'],
  submit_call: ['建立事件 (Enter)', 'Create incident (Enter)'],
  clear: ['清空 (Esc)', 'Clear (Esc)'],
  bad_location: ['位置无效：请点击地图或输入纬度、经度', 'No valid location: click the map or type lat, lon'],
  bad_onset: ['发病时间格式无效', 'Onset not understood'],

  complaint_chest_pain: ['胸痛', 'Chest pain'],
  complaint_stroke: ['卒中', 'Stroke'],
  complaint_trauma: ['创伤', 'Trauma'],
  complaint_obstetric: ['产科', 'Obstetric'],
  complaint_newborn: ['新生儿', 'Newborn'],
  complaint_other: ['其他', 'Other'],
  priority_1: ['1 危重', '1 Critical'],
  priority_2: ['2 紧急', '2 Urgent'],
  priority_3: ['3 较急', '3 Less urgent'],
  priority_4: ['4 非急', '4 Non-urgent'],

  candidates: ['推荐车辆', 'Recommended units'],
  cand_for: ['事件 {id}', 'Incident {id}'],
  cand_none: ['没有可派车辆', 'No unit available'],
  cand_vehicle: ['车辆', 'Unit'],
  cand_call_sign: ['呼号', 'Call sign'],
  cand_eta: ['预计到达', 'ETA'],
  cand_distance: ['距离', 'Distance'],
  cand_method: ['方式', 'Method'],
  method_road: ['路网', 'road'],
  method_straight_line: ['直线', 'straight'],
  assign: ['派车', 'Assign'],
  assign_key: ['按 1–5 派车', 'Press 1–5 to assign'],
  assigned_ok: ['{id} 已派 {vehicle}', '{id} assigned to {vehicle}'],
  auto_in: ['{s} 秒后自动派车', 'Auto-assign in {s} s'],
  auto_now: ['正在自动派车…', 'Auto-assigning…'],

  incidents: ['事件', 'Incidents'],
  inc_none: ['没有进行中的事件', 'No open incidents'],
  show_all: ['含已结束', 'Include closed'],
  detail: ['事件详情', 'Incident detail'],
  detail_none: ['选择一个事件', 'Select an incident'],
  timeline: ['时间线', 'Timeline'],
  clocks: ['黄金时间', 'Golden time'],
  clocks_none: ['无适用指标', 'No metric applies'],
  cancel_inc: ['取消事件', 'Cancel incident'],
  cancel_confirm: ['确定取消事件 {id}？', 'Cancel incident {id}?'],
  recompute: ['重新推荐', 'Recommend again'],
  field_state: ['状态', 'State'],
  field_vehicle: ['车辆', 'Unit'],
  field_created: ['建立', 'Created'],

  alerts: ['告警', 'Alerts'],
  alerts_none: ['没有告警', 'No alerts'],
  ack: ['确认', 'Acknowledge'],
  alert_warning: ['预警', 'Warning'],
  alert_breach: ['超时', 'Breach'],
  alert_text: ['{incident} {metric}：已 {elapsed} / 目标 {target}', '{incident} {metric}: {elapsed} of {target}'],

  fleet: ['车队', 'Fleet'],
  stale: ['位置过期', 'stale'],
  legend: ['图例', 'Legend'],

  state_new: ['待派', 'new'],
  state_dispatched: ['已派', 'dispatched'],
  state_en_route: ['出车', 'en route'],
  state_on_scene: ['到达现场', 'on scene'],
  state_transporting: ['转运中', 'transporting'],
  state_at_hospital: ['到达医院', 'at hospital'],
  state_closed: ['已结束', 'closed'],
  state_cancelled: ['已取消', 'cancelled'],

  status_available: ['待命', 'available'],
  status_dispatched: ['已派', 'dispatched'],
  status_en_route: ['出车', 'en route'],
  status_on_scene: ['现场', 'on scene'],
  status_transporting: ['转运', 'transporting'],
  status_at_hospital: ['医院', 'at hospital'],
  status_returning: ['返回', 'returning'],
  status_out_of_service: ['停用', 'out of service'],

  clock_not_applicable: ['不适用', 'n/a'],
  clock_waiting: ['等待', 'waiting'],
  clock_running: ['计时中', 'running'],
  clock_warning: ['预警', 'warning'],
  clock_breached: ['超时', 'breached'],
  clock_met: ['达标', 'met'],
  clock_missed: ['未达标', 'missed'],
  clock_incomplete: ['不完整', 'incomplete'],

  event_call_ringing: ['电话振铃', 'phone rang'],
  event_call_received: ['接警', 'call received'],
  event_assigned: ['派车', 'assigned'],
  event_auto_assigned: ['自动派车', 'auto-assigned'],
  event_status: ['车辆状态：{status}', 'unit status: {status}'],
  event_cancelled: ['取消', 'cancelled'],
  event_closed: ['结束', 'closed'],
  event_golden_alert: ['黄金时间{level}：{metric}', 'golden time {level}: {metric}'],
  event_first_medical_contact: ['首次医疗接触', 'first medical contact'],
  event_first_ecg: ['首份心电图', 'first ECG'],
  event_ecg_transmitted: ['心电图已传输', 'ECG transmitted'],
  event_stemi_confirmed: ['确诊STEMI', 'STEMI confirmed'],
  event_door: ['到达医院', 'door'],
  event_handover: ['交接', 'handover'],
  event_ct: ['CT', 'CT'],
  event_needle: ['溶栓', 'needle'],
  event_puncture: ['穿刺', 'puncture'],
  event_wire: ['导丝通过', 'wire'],

  metric_call_answer: ['接听', 'call answer'],
  metric_call_to_dispatch: ['接警到派车', 'call to dispatch'],
  metric_dispatch_to_rolling: ['派车到出车', 'dispatch to rolling'],
  metric_call_to_scene_town: ['到达现场（城镇）', 'call to scene (town)'],
  metric_call_to_scene_countryside: ['到达现场（农村）', 'call to scene (countryside)'],
  metric_fmc_to_ecg: ['首次医疗接触到心电图', 'FMC to ECG'],
  metric_ecg_to_diagnosis: ['心电图到诊断', 'ECG to diagnosis'],
  metric_door_to_wire: ['进门到导丝', 'door to wire'],
  metric_fmc_to_wire: ['首次医疗接触到导丝', 'FMC to wire'],
  metric_dido: ['进门到转出', 'door in, door out'],
  metric_door_to_needle_stemi: ['进门到溶栓(STEMI)', 'door to needle (STEMI)'],
  metric_door_to_ct: ['进门到CT', 'door to CT'],
  metric_door_to_needle: ['进门到溶栓', 'door to needle'],
  metric_door_to_puncture: ['进门到穿刺', 'door to puncture'],
  metric_onset_to_needle: ['发病到溶栓', 'onset to needle'],
  metric_onset_to_puncture: ['发病到穿刺', 'onset to puncture'],

  keys_help: ['快捷键：F2 新接警 · Enter 建立 · 1–5 派车 · Esc 清空 · F4 语言',
              'Keys: F2 new call · Enter create · 1–5 assign · Esc clear · F4 language'],
  error: ['错误：{msg}', 'Error: {msg}'],
  seconds: ['{n} 秒', '{n} s'],
  minutes: ['{m} 分 {s} 秒', '{m} min {s} s'],
  km: ['{n} 公里', '{n} km'],
  meters: ['{n} 米', '{n} m'],

  // The ED arrivals board (pages/ed.html, js/ed.js).
  ed_title: ['急诊入院看板', 'ED arrivals board'],
  ed_login_need: ['请输入用户名和密码', 'Give a user name and password'],
  ed_hospital: ['医院 {h}', 'hospital {h}'],
  ed_no_vitals: ['无法订阅生命体征：{msg}', 'No live vitals: {msg}'],
  ed_inbound: ['途中患者', 'Inbound'],
  ed_none: ['目前没有送往本院的患者', 'No patient is on the way to this hospital'],
  ed_scale_note: ['心电图 25 mm/s，10 mm/mV', 'ECG 25 mm/s, 10 mm/mV'],
  ed_alarm_note: ['报警：心率 <50 或 >120，SpO2 <90，收缩压 <90 或 >180，呼吸 <8 或 >30，EtCO2 <25 或 >50',
                  'Alarms: HR <50 or >120, SpO2 <90, SBP <90 or >180, RR <8 or >30, EtCO2 <25 or >50'],
  ed_hr: ['心率', 'HR'],
  ed_spo2: ['血氧 SpO2', 'SpO2'],
  ed_nibp: ['无创血压', 'NIBP'],
  ed_rr: ['呼吸', 'RR'],
  ed_etco2: ['呼末CO2', 'EtCO2'],
  ed_temp: ['体温', 'Temp'],
  ed_age: ['{n} 岁', '{n} y'],
  ed_sex_male: ['男', 'male'],
  ed_sex_female: ['女', 'female'],
  ed_sex_m: ['男', 'male'],
  ed_sex_f: ['女', 'female'],
  ed_sex_unknown: ['性别不详', 'sex unknown'],
  ed_patient_unknown: ['年龄、性别未报', 'age and sex not reported'],
  ed_unit: ['车辆', 'Unit'],
  ed_prealert_stemi: ['STEMI 预警', 'STEMI pre-alert'],
  ed_prealert_lvo: ['疑似大血管闭塞卒中 预警', 'Suspected LVO stroke pre-alert'],
  ed_activate_cath_lab_activated: ['启动导管室', 'Activate cath lab'],
  ed_activate_stroke_team_activated: ['启动卒中小组', 'Activate stroke team'],
  ed_done_cath_lab_activated: ['{id}：导管室已启动', '{id}: cath lab activated'],
  ed_done_stroke_team_activated: ['{id}：卒中小组已启动', '{id}: stroke team activated'],
  ed_done_door: ['{id}：患者已到达', '{id}: patient arrived'],
  ed_done_at_cath_lab_activated: ['导管室已启动 {time}', 'Cath lab activated {time}'],
  ed_done_at_stroke_team_activated: ['卒中小组已启动 {time}', 'Stroke team activated {time}'],
  ed_done_at_door: ['已到达 {time}', 'Arrived {time}'],
  ed_arrived: ['患者已到达', 'Patient arrived'],
  ed_at_door: ['已到达', 'arrived'],
  ed_eta: ['预计到达', 'ETA'],
  ed_eta_unknown: ['到达时间未知', 'ETA unknown'],
  ed_eta_due: ['即将到达', 'due now'],
  ed_no_scales: ['尚无分诊或评分结果', 'No triage or scale results yet'],
  ed_scale_stroke_scale: ['卒中评分', 'Stroke scale'],
  ed_scale_lvo_suspected: ['疑似大血管闭塞', 'LVO suspected'],
  ed_scale_triage: ['分诊', 'Triage'],
  ed_scale_stemi_confirmed: ['确诊STEMI', 'STEMI confirmed'],
  ed_scale_first_ecg: ['首份心电图', 'First ECG'],
  ed_scale_diagnosis: ['诊断', 'Diagnosis'],
  ed_field_scale: ['量表', 'scale'],
  ed_field_score: ['分数', 'score'],
  ed_field_result: ['结果', 'result'],
  ed_field_positive: ['阳性', 'positive'],
  ed_field_level: ['级别', 'level'],
  ed_field_side: ['侧别', 'side'],
  ed_field_triage: ['分诊', 'triage'],
  ed_field_complaint: ['主诉', 'complaint'],
  ed_yes: ['是', 'yes'],
  ed_no: ['否', 'no'],
  ed_measured: ['测量于 {time}', 'measured {time}'],
  ed_stream_live: ['实时心电图（缺失 {gaps} 段）', 'Live ECG ({gaps} gaps)'],
  ed_stream_waiting: ['等待心电图…', 'Waiting for the ECG…'],
  ed_stream_quiet: ['心电图已 {s} 秒无数据（缺失 {gaps} 段）', 'No ECG for {s} s ({gaps} gaps)'],
  ed_stream_stopped: ['实时数据已停止：{reason}', 'Live data stopped: {reason}'],
  ed_stop_destination_changed: ['目的医院已更改', 'destination changed'],
  ed_stop_closed: ['事件已结束', 'incident closed'],
  ed_stop_unsubscribed: ['已退订', 'unsubscribed'],
};

const LANGS = ['zh', 'en'];
let lang = (() => {
  try { return LANGS.includes(localStorage.getItem('goldline.lang')) ? localStorage.getItem('goldline.lang') : 'zh'; }
  catch (e) { return 'zh'; }
})();

/* t(key, vars): the string of `key` in the current language with {slots} filled; a key missing
 * from the table comes back as `fallback` or the key itself, so unknown server words
 * (a new event kind) still show. */
function t(key, vars, fallback) {
  const row = STRINGS[key];
  let s = row ? row[LANGS.indexOf(lang)] : (fallback !== undefined ? fallback : key);
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
  return s;
}

/* tWord(prefix, word): a server word (status, state, metric…) in the current language. */
function tWord(prefix, word) {
  return t(`${prefix}_${word}`, null, String(word).replace(/_/g, ' '));
}

/* Fills every data-i18n* element under `root` (default: the document). */
function applyI18n(root) {
  const r = root || document;
  r.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  r.querySelectorAll('[data-i18n-ph]').forEach((el) => { el.placeholder = t(el.dataset.i18nPh); });
  r.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app_title');
}

function setLang(l) {
  lang = LANGS.includes(l) ? l : 'zh';
  try { localStorage.setItem('goldline.lang', lang); } catch (e) { /* private mode */ }
  applyI18n();
}

function getLang() { return lang; }

window.I18N = { t, tWord, applyI18n, setLang, getLang, STRINGS, LANGS };
})();
