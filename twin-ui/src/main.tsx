import { createRoot } from 'react-dom/client';
import { Root } from './App.tsx';
import { createTwinStore } from './store.ts';
import './styles.css';

const store = createTwinStore();
(window as unknown as { __twin?: Record<string, unknown> }).__twin = { store };
const bench = /(?:^#|&)bench=(\d+)/.exec(window.location.hash);
if (bench) void import('./bench-mode.ts').then((m) => m.startBench(store, Number(bench[1])));
const el = document.getElementById('root');
if (!el) throw new Error('index.html has no #root element');
createRoot(el).render(<Root store={store} />);
