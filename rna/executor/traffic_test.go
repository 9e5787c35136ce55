package executor

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	deployv1alpha1 "github.com/aurora-cd/aurora/api/deploy/v1alpha1"
	rolloutv1alpha1 "github.com/aurora-cd/aurora/api/rollout/v1alpha1"
)

func TestTrafficWeightFollowsReadySteps(t *testing.T) {
	// canary 25 → 50 → pause until approved → (100)
	tests := []struct {
		name string
		act  Action
		want int32
	}{
		{"step 1 not Ready: nothing moves yet", Action{Outcome: OutcomeWait, Step: canaryPlan[0], State: ExecutionState{Step: 1}}, 0},
		{"step 2 not Ready: the weight of step 1 holds", Action{Outcome: OutcomeWait, Step: canaryPlan[1], State: ExecutionState{Step: 2}}, 25},
		{"the pause holds the weight of step 2", Action{Outcome: OutcomeAwaitingApproval, Step: canaryPlan[2], State: ExecutionState{Step: 3}}, 50},
		{"the final step not Ready: 50 holds", Action{Outcome: OutcomeWait, Step: canaryPlan[3], State: ExecutionState{Step: 4}}, 50},
		{"finalizing: all of it", Action{Outcome: OutcomeFinalize, Step: canaryPlan[3], State: ExecutionState{Step: 4}}, 100},
		{"blue/green before the switch", Action{Outcome: OutcomeAwaitingApproval, Step: Step{Kind: RedirectTrafficAfter}, State: ExecutionState{Step: 2}}, 0},
		{"blue/green after the switch, while an analysis runs", Action{Outcome: OutcomeWait, Step: Step{Kind: ShutDownOldVersionAfter, Weight: 100}, State: ExecutionState{Step: 3}}, 100},
		{"blue/green first deployment not Ready yet", Action{Outcome: OutcomeWait, Step: Step{Kind: DeployNewVersion, Weight: 100}, State: ExecutionState{Step: 1}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(TrafficWeight(canaryPlan, tt.act)).To(Equal(tt.want))
		})
	}
}

func TestSplitTrafficKeepsTheStableVersion(t *testing.T) {
	g := NewWithT(t)
	in := input(t0.Add(time.Second), canaryPlan, nil, running(1, t0, 3, 3, 10))
	g.Expect(in.splits(25)).To(Equal([]Split{{New: 3, Stable: 7}}), "without a mesh the weight is a pod ratio")
	in.SplitTraffic = true
	g.Expect(in.splits(25)).To(Equal([]Split{{New: 3, Stable: 10}}), "with a mesh the stable version keeps its replicas")
	g.Expect(in.splits(100)).To(Equal([]Split{{New: 10, Stable: 10}}))
	act := NextAction(in)
	g.Expect(act.Outcome).To(Equal(OutcomeWait))
	g.Expect(act.State.Step).To(BeEquivalentTo(2), "25% is Ready with the stable version at 10")
}

func TestSelectors(t *testing.T) {
	g := NewWithT(t)
	g.Expect(BaseSelector(map[string]string{"app": "a", VersionLabel: "a-1"})).To(Equal(map[string]string{"app": "a"}))
	g.Expect(BaseSelector(nil)).To(Equal(map[string]string{}))
	g.Expect(PinnedSelector(map[string]string{"app": "a", VersionLabel: "a-1"}, "a-2")).To(Equal(map[string]string{"app": "a", VersionLabel: "a-2"}))
	g.Expect(SelectedVersion(map[string]string{"app": "a"})).To(BeEmpty())
	g.Expect(selectsTemplate(map[string]string{"app": "a"}, map[string]string{"app": "a", "tier": "web"})).To(BeTrue())
	g.Expect(selectsTemplate(map[string]string{"app": "b"}, map[string]string{"app": "a"})).To(BeFalse())
	g.Expect(selectsTemplate(map[string]string{}, map[string]string{"app": "a"})).To(BeFalse(), "an empty selector selects no workload")
	s := map[string]map[string]string{"app": {"app": "a", VersionLabel: "a-1"}}
	parsed, err := parseSelectors(formatSelectors(s))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(parsed).To(Equal(s))
	_, err = parseSelectors("{")
	g.Expect(err).To(HaveOccurred())
}

func TestTrafficConfigOf(t *testing.T) {
	g := NewWithT(t)
	traffic := []deployv1alpha1.TrafficManagement{
		{SMI: []deployv1alpha1.SMITrafficManagement{{RootServiceName: "app"}}},
		{Kubernetes: []deployv1alpha1.KubernetesTrafficManagement{{ActiveService: "app", PreviewService: "app-preview"}}},
		{Istio: []deployv1alpha1.IstioTrafficManagement{{VirtualService: deployv1alpha1.IstioVirtualService{Name: "vs"}, DestinationRule: deployv1alpha1.IstioDestinationRule{Name: "dr"}}}},
	}
	canarySpec := &rolloutv1alpha1.RolloutSpec{Strategy: deployv1alpha1.Strategy{Canary: &deployv1alpha1.CanaryStrategy{}}, TrafficManagement: traffic}
	cfg := TrafficConfigOf(canarySpec)
	g.Expect(cfg.SMI).To(HaveLen(1))
	g.Expect(cfg.Istio).To(HaveLen(1))
	g.Expect(cfg.Active).To(BeEmpty(), "a canary ignores kubernetes blocks")
	g.Expect(cfg.SplitsTraffic()).To(BeTrue())
	g.Expect(cfg.services()).To(Equal([]string{"app", "app-canary"}))
	g.Expect(CheckTraffic(canarySpec)).To(Succeed())

	bgSpec := &rolloutv1alpha1.RolloutSpec{Strategy: deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{}}, TrafficManagement: traffic}
	cfg = TrafficConfigOf(bgSpec)
	g.Expect(cfg.Active).To(Equal([]string{"app"}))
	g.Expect(cfg.Preview).To(Equal([]string{"app-preview"}))
	g.Expect(cfg.SplitsTraffic()).To(BeFalse(), "blue/green switches Services, it splits nothing")
	g.Expect(CheckTraffic(bgSpec)).To(Succeed())

	g.Expect(CheckTraffic(&rolloutv1alpha1.RolloutSpec{Strategy: deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{PreviewService: "p"}}})).
		To(MatchError(ContainSubstring("blueGreen needs an activeService")))
	g.Expect(CheckTraffic(&rolloutv1alpha1.RolloutSpec{Strategy: deployv1alpha1.Strategy{BlueGreen: &deployv1alpha1.BlueGreenStrategy{ActiveService: "a", PreviewService: "a"}}})).
		To(MatchError("blueGreen: Service a cannot be both the activeService and the previewService"))
	g.Expect((TrafficConfig{}).IsZero()).To(BeTrue())
}

func TestTrafficSplitFor(t *testing.T) {
	g := NewWithT(t)
	s := deployv1alpha1.SMITrafficManagement{RootServiceName: "app"}
	u := TrafficSplitFor("split.smi-spec.io/v1alpha4", "ns", s, 25)
	g.Expect(u.GetName()).To(Equal("app"))
	g.Expect(u.GetNamespace()).To(Equal("ns"))
	g.Expect(u.GetAPIVersion()).To(Equal("split.smi-spec.io/v1alpha4"))
	g.Expect(u.Object["spec"]).To(HaveKeyWithValue("service", "app"))
	g.Expect(TrafficSplitWeights(u)).To(Equal(map[string]int64{"app": 75, "app-canary": 25}))
	named := TrafficSplitFor("split.smi-spec.io/v1alpha2", "ns", deployv1alpha1.SMITrafficManagement{RootServiceName: "app", CanaryServiceName: "next", TrafficSplitName: "split"}, 140)
	g.Expect(named.GetName()).To(Equal("split"))
	g.Expect(TrafficSplitWeights(named)).To(Equal(map[string]int64{"app": 0, "next": 100}), "weights are kept within 0..100")
}

func TestCanaryServiceFor(t *testing.T) {
	g := NewWithT(t)
	root := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"}, Spec: corev1.ServiceSpec{
		Selector:  map[string]string{"app": "a", VersionLabel: "a-1"},
		ClusterIP: "10.0.0.9",
		Ports:     []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP, NodePort: 30001}},
	}}
	svc := CanaryServiceFor(root, "app-canary", "a-2")
	g.Expect(svc.Name).To(Equal("app-canary"))
	g.Expect(svc.Namespace).To(Equal("ns"))
	g.Expect(svc.Spec.Selector).To(Equal(map[string]string{"app": "a", VersionLabel: "a-2"}))
	g.Expect(svc.Spec.ClusterIP).To(BeEmpty())
	g.Expect(svc.Spec.Ports).To(Equal([]corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}))
}

func route(name string, dests ...any) map[string]any {
	return map[string]any{"name": name, "route": dests}
}

func dest(host, subset string, weight int64) map[string]any {
	return map[string]any{"destination": map[string]any{"host": host, "subset": subset, "port": map[string]any{"number": int64(80)}}, "weight": weight}
}

func TestWeighRoute(t *testing.T) {
	primary := route("primary", dest("app", "stable", 100))
	other := route("other", dest("other", "", 100))
	tests := []struct {
		name      string
		http      []any
		routeName string
		weight    int32
		want      []any
		err       string
	}{
		{name: "the only route, at 25", http: []any{primary}, weight: 25,
			want: []any{route("primary", dest("app", "stable", 75), dest("app", "canary", 25))}},
		{name: "a named route among several; the others stay", http: []any{other, primary}, routeName: "primary", weight: 50,
			want: []any{other, route("primary", dest("app", "stable", 50), dest("app", "canary", 50))}},
		{name: "back to the stable version", http: []any{route("primary", dest("app", "stable", 50), dest("app", "canary", 50))}, weight: 0,
			want: []any{route("primary", dest("app", "stable", 100), dest("app", "canary", 0))}},
		{name: "several routes and no name", http: []any{other, primary}, err: "it has 2 HTTP routes: set virtualService.httpRouteName to the one to weigh"},
		{name: "no such route", http: []any{primary}, routeName: "nope", err: `it has no HTTP route named "nope"`},
		{name: "no route at all", err: "it has no HTTP route"},
		{name: "a route without destinations", http: []any{route("primary")}, routeName: "primary", err: `its HTTP route "primary" has no destination`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := WeighRoute(tt.http, tt.routeName, "stable", "canary", tt.weight)
			if tt.err != "" {
				g.Expect(err).To(MatchError(tt.err))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
			g.Expect(RouteWeights(got, tt.routeName)).To(Equal(map[string]int64{"stable": int64(100 - tt.weight), "canary": int64(tt.weight)}))
		})
	}
}

func TestSetSubsets(t *testing.T) {
	g := NewWithT(t)
	live := []any{
		map[string]any{"name": "stable", "labels": map[string]any{"version": "v1"}, "trafficPolicy": map[string]any{"tls": map[string]any{"mode": "ISTIO_MUTUAL"}}},
		map[string]any{"name": "debug", "labels": map[string]any{"debug": "true"}},
	}
	got := SetSubsets(live, "stable", map[string]string{VersionLabel: "a-1"}, "canary", map[string]string{VersionLabel: "a-2"})
	g.Expect(got).To(Equal([]any{
		map[string]any{"name": "stable", "labels": map[string]any{VersionLabel: "a-1"}, "trafficPolicy": map[string]any{"tls": map[string]any{"mode": "ISTIO_MUTUAL"}}},
		map[string]any{"name": "debug", "labels": map[string]any{"debug": "true"}},
		map[string]any{"name": "canary", "labels": map[string]any{VersionLabel: "a-2"}},
	}))
	g.Expect(live[0].(map[string]any)["labels"]).To(Equal(map[string]any{"version": "v1"}), "the live subsets are not changed in place")
	g.Expect(SetSubsets(got, "stable", map[string]string{VersionLabel: "a-1"}, "canary", map[string]string{VersionLabel: "a-2"})).To(Equal(got), "setting again changes nothing")
}

func TestSubsetLabels(t *testing.T) {
	g := NewWithT(t)
	subsets := []any{map[string]any{"name": "stable", "labels": map[string]any{VersionLabel: "a-1"}}, map[string]any{"name": "bare"}}
	labels, ok := SubsetLabels(subsets, "stable")
	g.Expect(ok).To(BeTrue())
	g.Expect(labels).To(Equal(map[string]string{VersionLabel: "a-1"}))
	labels, ok = SubsetLabels(subsets, "bare")
	g.Expect(ok).To(BeTrue())
	g.Expect(labels).To(BeEmpty())
	_, ok = SubsetLabels(subsets, "canary")
	g.Expect(ok).To(BeFalse())
}
