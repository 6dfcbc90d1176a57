/**
 * EPANET's extended-period hydraulics (epanet-js: the OWA-EPANET toolkit compiled to WebAssembly)
 * on an `.inp` text, with results in SI. The network is solved by EPANET itself; this module only
 * opens it, applies closures, steps the clock and converts units.
 */
import { CountType, InitHydOption, LinkProperty, NodeProperty, NodeType, Project, TimeParameter, Workspace } from 'epanet-js';
import { ValidationError } from '../errors.ts';
import { parseInp } from './inp.ts';
import { FLOW_UNITS, unitFactors, type UnitFactors } from './units.ts';

let workspace: Promise<Workspace> | null = null;
let loaded: Workspace | null = null;
let fileCounter = 0;

/** One EPANET WebAssembly module per process (loading it costs tens of milliseconds). */
export function epanetWorkspace(): Promise<Workspace> {
  workspace ??= (async () => {
    const ws = new Workspace();
    await ws.loadModule();
    loaded = ws;
    return ws;
  })();
  return workspace;
}

/** The module once `epanetWorkspace()` has resolved (behaviours step synchronously); null before. */
export function loadedEpanetWorkspace(): Workspace | null {
  return loaded;
}

/** A fresh file name in the module's virtual file system. */
export function epanetFileName(): string {
  return `net-${++fileCounter}`;
}

export interface HydraulicsOptions {
  /** `.inp` ids of links (pipes, pumps, valves) held closed for the whole run: controls and rules acting on them are disabled. */
  readonly closeLinks?: readonly string[];
  /** Report only these times (seconds); each must be a reporting time of the file. Default: every reporting time. */
  readonly at?: readonly number[];
}

/** Values by time (seconds, as a string key) then by `.inp` id. */
export type Series = Record<string, Record<string, number>>;

export interface HydraulicsResult {
  readonly units: { readonly time: 's'; readonly pressure: 'm'; readonly tankLevel: 'm'; readonly flow: 'm3/s'; readonly fileFlowUnits: string };
  readonly times: readonly number[];
  /** Junction pressure, metres of water. */
  readonly pressureM: Series;
  /** Tank water level above the tank's bottom elevation, metres. */
  readonly tankLevelM: Series;
  /** Flow in every link from its start node to its end node (negative: the other way), m³/s. */
  readonly flowM3s: Series;
}

/** A parameter that names something the network does not have; the CLI turns it into a flag error. */
export class HydraulicsInputError extends ValidationError {}

/** The reporting clock of an `.inp` as EPANET reads it. */
export interface ReportClock {
  readonly durationS: number;
  readonly reportStepS: number;
  readonly reportStartS: number;
}

/** Reporting times: report start, then every report step, to the duration (0 alone for a steady state). */
export function reportTimes(clock: ReportClock): number[] {
  const times: number[] = [];
  for (let t = clock.reportStartS; t <= clock.durationS; t += clock.reportStepS) {
    times.push(t);
    if (clock.reportStepS <= 0) break;
  }
  return times;
}

/** Opens an `.inp` text in EPANET. The caller must `close()` the project. */
export async function openProject(text: string, source: string): Promise<{ project: Project; ws: Workspace; close: () => void }> {
  const ws = await epanetWorkspace();
  const name = epanetFileName();
  ws.writeFile(`${name}.inp`, text);
  const project = new Project(ws);
  try {
    project.open(`${name}.inp`, `${name}.rpt`, '');
  } catch (error) {
    // EPANET writes the reasons (with its own line references) to the report file.
    let report = '';
    try {
      report = ws.readFile(`${name}.rpt`);
    } catch {
      // no report written
    }
    const reasons = report.split('\n').map((l) => l.trim()).filter((l) => /error|warning/i.test(l));
    throw new ValidationError(source, [{ path: '$', reason: `EPANET cannot open it: ${(error as Error).message}${reasons.length > 0 ? ` — ${reasons.join('; ')}` : ''}` }]);
  }
  return { project, ws, close: () => project.close() };
}

/** Holds the given links closed for the whole run: initial status closed, and no control or rule may reopen them. */
export function holdClosed(project: Project, linkIndexes: readonly number[]): void {
  const closing = new Set(linkIndexes);
  for (const index of closing) project.setLinkValue(index, LinkProperty.InitStatus, 0);
  const controls = project.getCount(CountType.ControlCount);
  for (let c = 1; c <= controls; c++) {
    if (closing.has(project.getControl(c).linkIndex)) project.setControlEnabled(c, 0);
  }
  const rules = project.getCount(CountType.RuleCount);
  for (let r = 1; r <= rules; r++) {
    const rule = project.getRule(r);
    let acts = false;
    for (let a = 1; a <= rule.thenActionCount && !acts; a++) acts = closing.has(project.getThenAction(r, a).linkIndex);
    for (let a = 1; a <= rule.elseActionCount && !acts; a++) acts = closing.has(project.getElseAction(r, a).linkIndex);
    if (acts) project.setRuleEnabled(r, 0);
  }
}

/** The file's flow units as EPANET read them (its enum follows FLOW_UNITS' order). */
function unitsOf(project: Project, source: string): UnitFactors {
  const units = FLOW_UNITS[project.getFlowUnits()];
  if (units === undefined) throw new ValidationError(source, [{ path: '[OPTIONS] Units', reason: `flow units code ${project.getFlowUnits()} is not supported` }]);
  return unitFactors(units);
}

/**
 * Runs the extended-period simulation of an `.inp` text. EPANET reads the text; only when it
 * refuses it is the text parsed here too, to name the line (`parseInp`).
 *
 * @throws ValidationError for an invalid file; HydraulicsInputError for an unknown link or a time that is not reported.
 * @example
 * const result = await runHydraulics(readFileSync('Net1.inp', 'utf8'), 'Net1.inp', { closeLinks: ['110'] });
 * result.pressureM['3600']?.['11']; // metres
 */
export async function runHydraulics(text: string, source: string, options: HydraulicsOptions = {}): Promise<HydraulicsResult> {
  let opened: Awaited<ReturnType<typeof openProject>>;
  try {
    opened = await openProject(text, source);
  } catch (error) {
    parseInp(text, source); // throws with file and line when it can tell
    throw error;
  }
  const { project, close } = opened;
  try {
    const u = unitsOf(project, source);
    const closeIndexes = (options.closeLinks ?? []).map((id) => {
      try {
        return project.getLinkIndex(id);
      } catch {
        throw new HydraulicsInputError(source, [{ path: '--close', reason: `no link "${id}" in the network (pipes, pumps and valves by their .inp id)` }]);
      }
    });
    holdClosed(project, closeIndexes);

    const clock: ReportClock = {
      durationS: project.getTimeParameter(TimeParameter.Duration),
      reportStepS: project.getTimeParameter(TimeParameter.ReportStep),
      reportStartS: project.getTimeParameter(TimeParameter.ReportStart),
    };
    const allTimes = reportTimes(clock);
    const wanted = options.at === undefined ? allTimes : [...new Set(options.at)].sort((a, b) => a - b);
    const reported = new Set(allTimes);
    for (const t of wanted) {
      if (!reported.has(t)) {
        throw new HydraulicsInputError(source, [{
          path: '--at',
          reason: `${t} s is not a reporting time (this network reports every ${clock.reportStepS} s from ${clock.reportStartS} s to ${clock.durationS} s)`,
        }]);
      }
    }
    const wantedSet = new Set(wanted);

    // Positions in EPANET's bulk value arrays (index 0 is node or link 1).
    const nodeCount = project.getCount(CountType.NodeCount);
    const linkCount = project.getCount(CountType.LinkCount);
    const junctions: [number, string][] = [];
    const tanks: [number, string, number][] = [];
    for (let i = 1; i <= nodeCount; i++) {
      const type = project.getNodeType(i);
      if (type === NodeType.Junction) junctions.push([i - 1, project.getNodeId(i)]);
      else if (type === NodeType.Tank) tanks.push([i - 1, project.getNodeId(i), project.getNodeValue(i, NodeProperty.Elevation)]);
    }
    const links: [number, string][] = [];
    for (let i = 1; i <= linkCount; i++) links.push([i - 1, project.getLinkId(i)]);

    const result: HydraulicsResult = {
      units: { time: 's', pressure: 'm', tankLevel: 'm', flow: 'm3/s', fileFlowUnits: u.flow },
      times: wanted,
      pressureM: {},
      tankLevelM: {},
      flowM3s: {},
    };
    project.openH();
    project.initH(InitHydOption.NoSave);
    const last = wanted[wanted.length - 1] ?? -1;
    for (;;) {
      const t = project.runH();
      if (wantedSet.has(t)) {
        const key = String(t);
        const pressures = project.getNodeValues(NodeProperty.Pressure);
        const heads = project.getNodeValues(NodeProperty.Head);
        const flows = project.getLinkValues(LinkProperty.Flow);
        const pressure: Record<string, number> = {};
        for (const [i, id] of junctions) pressure[id] = pressures[i]! * u.pressure;
        const level: Record<string, number> = {};
        // Level = head − bottom elevation (EPANET's "pressure" at a tank is in psi for US units, the level in feet).
        for (const [i, id, elevation] of tanks) level[id] = (heads[i]! - elevation) * u.length;
        const flow: Record<string, number> = {};
        for (const [i, id] of links) flow[id] = flows[i]! * u.flowM3s;
        result.pressureM[key] = pressure;
        result.tankLevelM[key] = level;
        result.flowM3s[key] = flow;
      }
      if (t >= last) break;
      if (project.nextH() <= 0) break;
    }
    project.closeH();
    return result;
  } finally {
    close();
  }
}
