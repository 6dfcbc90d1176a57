/** Public surface of the graph algorithms: CSR graphs and the analyses run over them. */

export type { BuildCsrOptions, Csr, EdgeList } from './csr.ts';
export { arcCount, buildCsr, csrFromEdges, degree, hasArc, isSymmetric } from './csr.ts';
export type { Components } from './components.ts';
export { connectedComponents, reachableFrom } from './components.ts';
export type { BetweennessOptions } from './betweenness.ts';
export { BetweennessSolver, betweenness, betweennessSampled } from './betweenness.ts';
export type { PageRankOptions, PageRankResult } from './pagerank.ts';
export { pagerank } from './pagerank.ts';
export { barabasiAlbert, erdosRenyi } from './random-graphs.ts';
export type { CascadeSummary, MotterLaiOptions } from './motter-lai.ts';
export { MotterLaiCascade, highestLoadNode } from './motter-lai.ts';
export type { DependencyList, MutualPercolationOptions, MutualPercolationResult } from './interdependent.ts';
export { layerStarts, mutualGiantComponent, oneToOneDependencies, randomRemoval } from './interdependent.ts';
